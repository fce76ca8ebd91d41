"""The hot path: content-defined chunking (FastCDC 2020), native or pure-Python.

This package is the one selector between the twins: the Cython module ``_native`` (built from
``native/hotpath.pyx``) and ``_pure``, which also documents the algorithm. Set
``LLMSPELL_SESSIONS_PURE=1`` to force the pure twin; set ``LLMSPELL_SESSIONS_REQUIRE_NATIVE=1`` to make
a missing native build an ImportError instead of a silent fallback (``PURE=1`` still wins).
Arguments are checked here, once; the twins only compute.
"""

from __future__ import annotations

from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, NamedTuple

from ..native import load
from . import _pure
from ._gear import GEAR_TABLE_ID

if TYPE_CHECKING:
    from typing_extensions import Buffer


def _select() -> tuple[ModuleType, str]:
    native = load("llmspell_sessions.hotpath._native", honour_require=True)
    return (_pure, "pure") if native is None else (native, "native")


_impl, IMPLEMENTATION = _select()
"""``_impl`` is the twin in use; ``IMPLEMENTATION`` names it: "native" or "pure"."""

MIN_SIZE = 16384
AVG_SIZE = 65536
MAX_SIZE = 262144
SIZE_LIMIT = 16 * 1024 * 1024
"""Largest allowed max_size (16 MiB), as in the fastcdc crate."""

CHUNKING = {
    "algorithm": "fastcdc-2020",
    "min_size": MIN_SIZE,
    "avg_size": AVG_SIZE,
    "max_size": MAX_SIZE,
    "gear_table": GEAR_TABLE_ID,
    "normalization": 1,
}
"""The chunking parameters in force, as recorded next to stored artifacts and sent to clients."""

MASKS: tuple[int, ...] = (
    0, 0, 0, 0, 0,
    0x0000000001804110, 0x0000000001803110, 0x0000000018035100, 0x0000001800035300,
    0x0000019000353000, 0x0000590003530000, 0x0000d90003530000, 0x0000d90103530000,
    0x0000d90303530000, 0x0000d90313530000, 0x0000d90f03530000, 0x0000d90303537000,
    0x0000d90703537000, 0x0000d90707537000, 0x0000d91707537000, 0x0000d91747537000,
    0x0000d91767537000, 0x0000d93767537000, 0x0000d93777537000, 0x0000d93777577000,
    0x0000db3777577000,
)  # fmt: skip
"""The fastcdc crate's v2020 ``MASKS``: entry k has k one bits; indexes 0-4 are unused."""


class ChunkParams(NamedTuple):
    """Validated chunk sizes with the masks derived from avg_size (see ``_pure``'s docstring)."""

    min_size: int
    avg_size: int
    max_size: int
    mask_s: int
    mask_l: int


def mask_bits(avg_size: int) -> int:
    """``round(log2(avg_size))``, computed exactly with integers so every language agrees."""
    b = avg_size.bit_length() - 1
    return b + 1 if avg_size * avg_size > 1 << (2 * b + 1) else b


@lru_cache(maxsize=64, typed=True)  # typed: 1024.0 must not hit the entry of 1024
def chunk_params(min_size: int = MIN_SIZE, avg_size: int = AVG_SIZE, max_size: int = MAX_SIZE) -> ChunkParams:
    """Checks the sizes and derives the masks; raises ValueError (TypeError for non-ints)."""
    for name, value in (("min_size", min_size), ("avg_size", avg_size), ("max_size", max_size)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if min_size < 64:
        raise ValueError(f"min_size must be >= 64, got {min_size}")
    if not min_size <= avg_size <= max_size:
        raise ValueError(f"sizes must satisfy min_size <= avg_size <= max_size, got {min_size}, {avg_size}, {max_size}")
    if max_size > SIZE_LIMIT:
        raise ValueError(f"max_size must be <= {SIZE_LIMIT} (16 MiB), got {max_size}")
    bits = mask_bits(avg_size)
    return ChunkParams(min_size, avg_size, max_size, MASKS[bits + 1], MASKS[bits - 1])


def _byte_view(data: Buffer) -> memoryview:
    view = memoryview(data)
    if not view.c_contiguous:
        raise TypeError("data must be a C-contiguous buffer")
    if view.ndim != 1 or view.format != "B":
        view = view.cast("B")
    return view


def chunk_cuts(
    data: Buffer,
    min_size: int = MIN_SIZE,
    avg_size: int = AVG_SIZE,
    max_size: int = MAX_SIZE,
    final: bool = True,
) -> list[int]:
    """End offsets of the content-defined chunks of ``data`` (any contiguous buffer), ascending.

    With ``final`` (the default) the last offset is ``len(data)`` (no offsets for empty data).
    With ``final=False`` only certain cuts are returned: the bytes after the last one (fewer than
    max_size) must be prepended to the next buffer.
    """
    params = chunk_params(min_size, avg_size, max_size)
    return _impl.find_cuts(_byte_view(data), *params, bool(final))  # type: ignore[no-any-return]


class StreamChunker:
    """Splits a stream fed in pieces into the same chunks as ``chunk_cuts`` of the whole.

    Chunks are returned as memoryviews of the fed buffers where possible (no copy), so use them
    before mutating a buffer passed to ``feed``. Only the tail that may still grow (fewer than
    max_size bytes) is copied, and at most max_size bytes are joined per call. One instance
    serves one stream from one thread.
    """

    def __init__(self, min_size: int = MIN_SIZE, avg_size: int = AVG_SIZE, max_size: int = MAX_SIZE) -> None:
        self._params = chunk_params(min_size, avg_size, max_size)
        self._tail = memoryview(b"")

    def feed(self, data: Buffer) -> list[memoryview]:
        """Adds ``data`` to the stream; returns the chunks that are now complete."""
        view = _byte_view(data)
        chunks: list[memoryview] = []
        if len(self._tail):
            view = self._complete_tail(view, chunks)
        if len(view):
            start = 0
            for end in _impl.find_cuts(view, *self._params, False):
                chunks.append(view[start:end])
                start = end
            # Copied: the caller may reuse its buffer before the next feed().
            self._tail = memoryview(bytes(view[start:]))
        return chunks

    def finish(self) -> list[memoryview]:
        """Ends the stream: returns the remaining chunks (at most one) and resets the chunker."""
        tail, self._tail = self._tail, memoryview(b"")
        chunks, start = [], 0
        for end in _impl.find_cuts(tail, *self._params, True):
            chunks.append(tail[start:end])
            start = end
        return chunks

    def _complete_tail(self, view: memoryview, chunks: list[memoryview]) -> memoryview:
        """Chunks the tail joined with the start of ``view``; returns the part of ``view`` left.

        Leaves the tail empty, or holding the joined bytes if no cut was certain yet.

        The chunk that starts the tail ends within max_size bytes, so only that much is joined
        (the tail is rescanned, which costs less than keeping the hash state across calls).
        """
        held = len(self._tail)
        joined = memoryview(b"".join((self._tail, view[: self._params.max_size - held])))
        start = 0
        for end in _impl.find_cuts(joined, *self._params, False):
            chunks.append(joined[start:end])
            start = end
        if not start:
            self._tail = joined  # shorter than max_size: all of view went in
            return view[len(view) :]
        # No certain cut lay inside the tail, so every cut here is at or after its end.
        self._tail = memoryview(b"")
        return view[start - held :]


__all__ = [
    "AVG_SIZE",
    "CHUNKING",
    "GEAR_TABLE_ID",
    "IMPLEMENTATION",
    "MASKS",
    "MAX_SIZE",
    "MIN_SIZE",
    "ChunkParams",
    "StreamChunker",
    "chunk_cuts",
    "chunk_params",
    "mask_bits",
]
