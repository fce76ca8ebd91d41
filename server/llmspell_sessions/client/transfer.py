"""Helpers for streaming transfers shared by both clients: message framing and client-side chunking."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .._pb import artifact_pb2
from ..errors import IntegrityError
from ..model import Artifact, UploadHeader
from ..wire.artifacts import header_to_pb
from ..wire.raw import data_message

MESSAGE_BYTES = 1024 * 1024
DEDUP_MIN_BYTES = 4 * 1024 * 1024  # below this one plain stream is cheaper than a FindMissingChunks round trip
Progress = Callable[[int, int], None]  # (bytes done, bytes total)
UploadRequest = artifact_pb2.UploadArtifactRequest | bytes  # a message, or a data message's wire bytes


def upload_messages(header: UploadHeader, source: Iterator[bytes]) -> Iterator[artifact_pb2.UploadArtifactRequest]:
    """An UploadArtifact stream as messages (for a generated stub)."""
    yield artifact_pb2.UploadArtifactRequest(header=header_to_pb(header))
    for data in source:
        yield artifact_pb2.UploadArtifactRequest(data=data)


def upload_requests(
    header: UploadHeader, source: Iterator[bytes]
) -> Iterator[artifact_pb2.UploadArtifactRequest | bytes]:
    """The same stream with its data messages as wire bytes (``_calls.upload_call``): one copy of the data
    each instead of a message built and serialized."""
    yield artifact_pb2.UploadArtifactRequest(header=header_to_pb(header))
    for data in source:
        yield data_message((data,), len(data))


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


class VerifiedFile:
    """Where a download lands: written to ``<path>.part``, hashed as it goes, and renamed into place
    only when size and BLAKE3 digest match the artifact (else removed, IntegrityError)."""

    def __init__(self, path: str | os.PathLike[str], artifact: Artifact, progress: Progress | None = None) -> None:
        from blake3 import blake3

        self.target = Path(path)
        self.partial = self.target.with_name(self.target.name + ".part")
        self.artifact, self.progress = artifact, progress
        self.hasher, self.done = blake3(), 0
        self.handle = open(self.partial, "wb")  # noqa: SIM115 - closed in finish()

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.hasher.update(data)
        self.done += len(data)
        if self.progress:
            self.progress(self.done, self.artifact.size)

    def finish(self) -> Artifact:
        self.handle.close()
        if self.hasher.hexdigest() != self.artifact.content_digest or self.done != self.artifact.size:
            self.partial.unlink()
            raise IntegrityError(
                "downloaded bytes do not match the artifact's digest", artifact_id=self.artifact.artifact_id
            )
        self.partial.replace(self.target)
        return self.artifact
