"""Generated content of the scenarios: xorshift32 bytes and the edits applied to them (README.md)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_LANES = 1024  # words generated side by side when numpy is there (32 MiB in well under a second)
_MASK = 0xFFFFFFFF


def _step(x: int) -> int:
    x ^= (x << 13) & _MASK
    x ^= x >> 17
    return x ^ ((x << 5) & _MASK)


def _xorshift32_pure(seed: int, words: int) -> bytearray:
    x, out = seed & _MASK, bytearray()
    for _ in range(words):
        x = _step(x)
        out += x.to_bytes(4, "little")
    return out


def _apply(matrix: list[int], x: int) -> int:
    """A 32x32 matrix over GF(2), given by its columns, times the bit vector x."""
    result, bit = 0, 0
    while x:
        if x & 1:
            result ^= matrix[bit]
        x, bit = x >> 1, bit + 1
    return result


def _power(n: int) -> list[int]:
    """The columns of T^n, T being one xorshift32 step (a linear map over GF(2)^32)."""
    result = [1 << i for i in range(32)]
    base = [_step(1 << i) for i in range(32)]
    while n:
        if n & 1:
            result = [_apply(base, c) for c in result]
        base = [_apply(base, c) for c in base]
        n >>= 1
    return result


def _xorshift32_lanes(seed: int, words: int) -> bytes:
    import numpy as np

    per_lane = -(-words // _LANES)
    jump, starts, x = _power(per_lane), [], seed & _MASK
    for _ in range(_LANES):
        starts.append(x)
        x = _apply(jump, x)
    lanes = np.array(starts, dtype=np.uint32)
    out = np.empty((per_lane, _LANES), dtype=np.uint32)
    for i in range(per_lane):
        lanes ^= lanes << np.uint32(13)
        lanes ^= lanes >> np.uint32(17)
        lanes ^= lanes << np.uint32(5)
        out[i] = lanes
    return out.T.astype("<u4").tobytes()[: words * 4]


@lru_cache(maxsize=4)
def xorshift32(seed: int, size: int) -> bytes:
    """N bytes of xorshift32 from state seed, each word little-endian, the last one truncated."""
    words = (size + 3) // 4
    try:
        data = _xorshift32_lanes(seed, words) if words >= 64 * _LANES else bytes(_xorshift32_pure(seed, words))
    except ImportError:
        data = bytes(_xorshift32_pure(seed, words))
    return data[:size]


def generate(spec: dict[str, Any]) -> bytes:
    """The bytes of a content spec: xorshift32(seed, size), then its edits in order."""
    if spec.get("generate") != "xorshift32":
        raise ValueError(f"unknown content generator {spec.get('generate')!r}")
    data = xorshift32(int(spec["seed"]), int(spec["size"]))
    edits = spec.get("edits", [])
    if not edits:
        return data
    edited = bytearray(data)
    for edit in edits:
        offset = int(edit["offset"])
        if "xor" in edit:
            end = offset + int(edit["size"])
            edited[offset:end] = bytes(b ^ int(edit["xor"]) for b in edited[offset:end])
        elif "insert" in edit:
            edited[offset:offset] = xorshift32(int(edit["seed"]), int(edit["insert"]))
        else:
            raise ValueError(f"unknown edit {edit!r}")
    return bytes(edited)
