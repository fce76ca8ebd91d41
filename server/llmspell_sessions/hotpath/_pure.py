"""Pure-Python twin of the hot path: the reference definition of the content-defined chunker.

The native twin (``native/hotpath.pyx``) and the Go/TS/Rust clients must give the same boundaries;
``tests/vectors/chunking.json`` holds golden vectors for them.

Algorithm: FastCDC 2020 (Xia et al., "The Design of Fast Content-Defined Chunking for Data
Deduplication Based Storage Systems", IEEE TPDS 2020), as in the ``fastcdc`` Rust crate's ``v2020``
module, with normalized chunking level 1, written in the one-byte-per-step form.

Parameters (defaults): ``min_size`` 16384, ``avg_size`` 65536, ``max_size`` 262144, with
64 <= min_size <= avg_size <= max_size <= 16 MiB (avg_size need not be a power of two).

Gear table: ``GEAR[256]`` of "llmspell-gear-v1" (``_gear.py``, ``tests/vectors/gear_table.json``):
``GEAR[i] = int.from_bytes(blake3(b"llmspell-sessions/gear/v1" + bytes([i])).digest()[:8], "little")``.

Masks: ``bits = round(log2(avg_size))``, computed exactly as ``b = floor(log2(avg_size))`` plus one
if ``avg_size**2 > 2**(2*b + 1)``. Then ``mask_s = MASKS[bits + 1]`` (more bits: harder to cut,
used before avg_size) and ``mask_l = MASKS[bits - 1]`` (fewer bits: easier to cut, used after
avg_size), where MASKS is the crate's v2020 table (``hotpath.MASKS``; MASKS[k] has k one bits,
all below bit 48). For the defaults (bits = 16):
``mask_s = MASKS[17] = 0x0000d90703537000`` and ``mask_l = MASKS[15] = 0x0000d90f03530000``.

Cut point of one chunk starting at ``src[0]``, with ``n`` bytes available (Algorithm 1 of the paper)::

    if n <= min_size: return n
    if n > max_size: n = max_size
    center = min(avg_size, n)
    h = 0                                   # unsigned 64-bit, wrapping
    for i in min_size .. center-1:          # the first min_size bytes are never hashed
        h = (h << 1) + GEAR[src[i]]
        if h & mask_s == 0: return i        # the chunk is src[0:i]; src[i] starts the next one
    for i in center .. n-1:
        h = (h << 1) + GEAR[src[i]]
        if h & mask_l == 0: return i
    return n

Chunking repeats this from each cut until the data ends, so every chunk is at least min_size
bytes (except the last) and at most max_size bytes. A cut ``c`` found with ``c < n`` depends only on
``src[0:c+1]``, and a cut at max_size is forced: both are final whatever follows. A cut equal to
``n < max_size`` only says the data ran out; in streaming (``final=False``) such a tail is held
back until more data arrives.
"""

from __future__ import annotations

from ._gear import GEAR

_U64 = (1 << 64) - 1


def _cut(
    data: memoryview,
    start: int,
    n: int,
    min_size: int,
    avg_size: int,
    max_size: int,
    mask_s: int,
    mask_l: int,
) -> int:
    """The length of the chunk that starts at ``data[start]``, given ``n`` bytes from there."""
    if n <= min_size:
        return n
    n = min(n, max_size)
    center = min(avg_size, n)
    gear = GEAR
    h = 0
    for i, byte in enumerate(data[start + min_size : start + center], min_size):
        h = ((h << 1) + gear[byte]) & _U64
        if not h & mask_s:
            return i
    for i, byte in enumerate(data[start + center : start + n], center):
        h = ((h << 1) + gear[byte]) & _U64
        if not h & mask_l:
            return i
    return n


def find_cuts(
    data: memoryview, min_size: int, avg_size: int, max_size: int, mask_s: int, mask_l: int, final: bool
) -> list[int]:
    """Chunk end offsets in ``data`` (a 1-D byte view), ascending; see the module docstring.

    With ``final`` false, a last chunk that more data could still extend is left out.
    Arguments are trusted: the selector (``hotpath/__init__.py``) validates them.
    """
    cuts: list[int] = []
    start, total = 0, len(data)
    while start < total:
        remaining = total - start
        size = _cut(data, start, remaining, min_size, avg_size, max_size, mask_s, mask_l)
        if not final and size == remaining and remaining < max_size:
            break
        start += size
        cuts.append(start)
    return cuts
