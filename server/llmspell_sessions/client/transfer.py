"""Helpers for streaming transfers shared by both clients: message framing and client-side chunking."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .._pb import artifact_pb2
from ..model import UploadHeader
from ._artifact_api import header_to_pb

MESSAGE_BYTES = 1024 * 1024
DEDUP_MIN_BYTES = 4 * 1024 * 1024  # below this one plain stream is cheaper than a FindMissingChunks round trip
Progress = Callable[[int, int], None]  # (bytes done, bytes total)


def upload_messages(header: UploadHeader, source: Iterator[bytes]) -> Iterator[artifact_pb2.UploadArtifactRequest]:
    yield artifact_pb2.UploadArtifactRequest(header=header_to_pb(header))
    for data in source:
        yield artifact_pb2.UploadArtifactRequest(data=data)


def read_file(path: Path, offset: int = 0, progress: Progress | None = None) -> Iterator[bytes]:
    """The file's bytes from offset in 1 MiB pieces, reporting progress."""
    total = os.path.getsize(path)
    done = offset
    with open(path, "rb") as handle:
        handle.seek(offset)
        while data := handle.read(MESSAGE_BYTES):
            done += len(data)
            if progress:
                progress(done, total)
            yield data


@dataclass
class ChunkPlan:
    """A file cut into content-defined chunks exactly as the server cuts it."""

    chunks: list[tuple[str, int, int]]  # (digest hex, offset, size)
    content_digest: str


def plan_chunks(path: Path) -> ChunkPlan:
    """Chunks and hashes the file (FastCDC with the server's parameters, BLAKE3)."""
    from blake3 import blake3  # only this path needs it: plain uploads work with grpcio alone

    from .. import hotpath  # the native chunker when built, else its pure-Python twin

    data = memoryview(Path(path).read_bytes()) if os.path.getsize(path) else memoryview(b"")
    chunks, start = [], 0
    for end in hotpath.chunk_cuts(data):
        chunks.append((blake3(data[start:end]).hexdigest(), start, end - start))
        start = end
    return ChunkPlan(chunks, blake3(data).hexdigest())


def chunk_messages(
    path: Path, wanted: list[tuple[str, int, int]], progress: Progress | None = None
) -> Iterator[artifact_pb2.UploadChunksRequest]:
    total = sum(n for _, _, n in wanted)
    done = 0
    with open(path, "rb") as handle:
        for digest, offset, size in wanted:
            handle.seek(offset)
            done += size
            if progress:
                progress(done, total)
            yield artifact_pb2.UploadChunksRequest(digest=digest, data=handle.read(size))
