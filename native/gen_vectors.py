"""Generator of the chunking golden vectors, ``tests/vectors/chunking.json``.

Each vector names its input and chunk sizes and gives the expected chunk end offsets, the BLAKE3
digest of every chunk and of the whole content. Inputs are rebuilt, never stored:

- ``blake3-xof``: ``blake3(seed.encode()).digest(length=length)`` (the BLAKE3 extendable output),
  with seeds ``llmspell-sessions/vectors/N``;
- ``zeros``: ``length`` zero bytes.

The cuts come from the pure-Python twin (the reference) and are checked against the native twin
when it is built. Usage: ``python native/gen_vectors.py`` rewrites the file; ``--check`` exits 1
if it is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from blake3 import blake3

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server"))

from llmspell_sessions.hotpath import CHUNKING, _pure, chunk_params  # noqa: E402

VECTORS_PATH = ROOT / "tests" / "vectors" / "chunking.json"
DEFAULT = (16384, 65536, 262144)

# (input kind, length, (min_size, avg_size, max_size)); the seed index is the position in this list.
CASES: list[tuple[str, int, tuple[int, int, int]]] = [
    ("blake3-xof", 0, DEFAULT),
    ("blake3-xof", 1, DEFAULT),
    ("blake3-xof", 16383, DEFAULT),
    ("blake3-xof", 16384, DEFAULT),
    ("blake3-xof", 65536, DEFAULT),
    ("blake3-xof", 300000, DEFAULT),
    ("blake3-xof", 1048576 + 7, DEFAULT),
    ("zeros", 600000, DEFAULT),
    ("blake3-xof", 20000, (64, 256, 1024)),
    ("blake3-xof", 100000, (1000, 3000, 12000)),
    ("blake3-xof", 50000, (64, 256, 65536)),
]


def make_input(kind: str, seed: str, length: int) -> bytes:
    """The input bytes of a vector, from its kind, seed and length (see the module docstring)."""
    if kind == "zeros":
        return bytes(length)
    return blake3(seed.encode()).digest(length=length)


def make_vector(index: int, kind: str, length: int, sizes: tuple[int, int, int]) -> dict[str, Any]:
    """One vector: its input, parameters and the expected cuts and digests."""
    seed = f"llmspell-sessions/vectors/{index}"
    data = make_input(kind, seed, length)
    params = chunk_params(*sizes)
    cuts = _pure.find_cuts(memoryview(data), *params, True)
    starts = [0, *cuts][: len(cuts)]
    return {
        "name": f"{kind}-{length}-{sizes[0]}-{sizes[1]}-{sizes[2]}",
        "input": kind,
        "seed": seed if kind == "blake3-xof" else None,
        "length": length,
        "min_size": params.min_size,
        "avg_size": params.avg_size,
        "max_size": params.max_size,
        "mask_s": f"{params.mask_s:016x}",
        "mask_l": f"{params.mask_l:016x}",
        "content_blake3": blake3(data).hexdigest(),
        "cuts": cuts,
        "chunk_blake3": [blake3(data[s:e]).hexdigest() for s, e in zip(starts, cuts, strict=True)],
    }


def render() -> str:
    """The whole vectors file."""
    doc = {
        "description": "Golden vectors of the content-defined chunker (algorithm: hotpath/_pure.py).",
        "chunking": {k: v for k, v in CHUNKING.items() if k not in ("min_size", "avg_size", "max_size")},
        "inputs": {
            "blake3-xof": "blake3(seed as UTF-8).digest(length) — the BLAKE3 extendable output",
            "zeros": "length zero bytes",
        },
        "fields": "cuts: chunk end offsets, ascending; masks: 16 hex digits; digests: BLAKE3-256 hex",
        "vectors": [make_vector(i, *case) for i, case in enumerate(CASES)],
    }
    return json.dumps(doc, indent=1) + "\n"


def _check_native(text: str) -> None:
    try:
        from llmspell_sessions.hotpath import _native  # type: ignore[attr-defined]
    except ImportError:
        print("note: native twin not built; vectors come from the pure twin only", file=sys.stderr)
        return
    for v in json.loads(text)["vectors"]:
        data = make_input(v["input"], v["seed"], v["length"])
        params = chunk_params(v["min_size"], v["avg_size"], v["max_size"])
        if _native.find_cuts(data, *params, True) != v["cuts"]:
            raise SystemExit(f"native twin disagrees with the pure twin on {v['name']}")


def main(argv: list[str] | None = None) -> int:
    """Write the vectors, or with ``--check`` return 1 if the file is stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if tests/vectors/chunking.json is stale")
    args = parser.parse_args(argv)
    text = render()
    _check_native(text)
    if args.check:
        if not VECTORS_PATH.exists() or VECTORS_PATH.read_text() != text:
            print("stale: tests/vectors/chunking.json (run python native/gen_vectors.py)", file=sys.stderr)
            return 1
        return 0
    VECTORS_PATH.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
