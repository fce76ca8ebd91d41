"""The per-batch hot path: BLAKE3 of each chunk, then LZ4 of the new ones when it pays.

Chunk boundaries come from ``hotpath`` (Cython, GIL released); blake3 and lz4 release the GIL on
large inputs too, so a batch computed on a worker thread overlaps with receiving the next message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import lz4.block
from blake3 import blake3


@dataclass(slots=True)
class PreparedChunk:
    """A chunk ready to store: its digest, logical size and the bytes to write (maybe compressed)."""

    digest: bytes
    size: int
    stored: bytes | memoryview = b""
    compressed: bool = False


@dataclass(slots=True)
class ChunkBatch:
    """The chunks of one batch, in content order, and which of them the store lacked."""

    chunks: list[PreparedChunk] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(c.size for c in self.chunks)


def digest_chunks(chunks: Sequence[bytes | memoryview]) -> list[bytes]:
    return [blake3(chunk).digest() for chunk in chunks]


def compress_chunk(chunk: bytes | memoryview, threshold: int) -> tuple[bytes | memoryview, bool]:
    """LZ4 block bytes when the chunk is above threshold and they are smaller, else the chunk itself.

    The choice depends on the chunk's bytes alone, never on the artifact or tenant that stores it, so
    a chunk's stored size is the same whoever stored it first (deduplication reveals nothing)."""
    if len(chunk) <= threshold:
        return chunk, False
    packed = lz4.block.compress(chunk, store_size=False)
    if len(packed) < len(chunk):
        return packed, True
    return chunk, False


def decompress_chunk(stored: bytes, size: int) -> bytes:
    return lz4.block.decompress(stored, uncompressed_size=size)


def prepare_chunks(
    chunks: Sequence[bytes | memoryview], digests: Sequence[bytes], new: set[bytes], threshold: int
) -> list[PreparedChunk]:
    """PreparedChunks for a batch; only digests in ``new`` get bytes (compressed when it pays)."""
    prepared = []
    for chunk, digest in zip(chunks, digests, strict=True):
        item = PreparedChunk(digest, len(chunk))
        if digest in new:
            new.discard(digest)  # a chunk repeated within the batch is stored once
            item.stored, item.compressed = compress_chunk(chunk, threshold)
        prepared.append(item)
    return prepared
