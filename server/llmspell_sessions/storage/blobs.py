"""Blob stores: where chunk bytes live, outside the WAL and the LSM tree.

A blob is a chunk's stored bytes, named by the chunk's digest and written once; a store returns an
opaque 16-byte location for it (segment files: where it is; an object store names objects by digest
and returns a fixed location). Every call passes both, so either kind of store finds the blob.
The chunk record in the ``chunks`` column family (written later, in the artifact's WriteBatch) is what
makes it reachable. Bytes appended but never referenced (an aborted upload, a crash before the
commit) are dead space, never visible.
"""

from __future__ import annotations

import os
import struct
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol, TypeAlias

from ..errors import DataLoss, Unavailable

SEGMENT_BYTES = 256 * 1024 * 1024
_LOCATION = struct.Struct("<IQI")  # segment number, offset, length
Blob: TypeAlias = tuple[bytes, bytes | memoryview]
"""A chunk's digest and its stored (possibly compressed) bytes."""


class BlobStore(Protocol):
    """Append-only storage of chunk bytes, each named by its digest.

    Appending a digest that is already stored is harmless (the bytes are the same)."""

    def append(self, blobs: Sequence[Blob]) -> list[bytes]:
        """Writes (digest, stored bytes) pairs and returns their locations (not yet durable: see sync)."""

    def read(self, digest: bytes, location: bytes) -> bytes:
        """The bytes stored for a digest at a location returned by append (DataLoss when gone)."""

    def read_many(self, blobs: Sequence[tuple[bytes, bytes]]) -> Iterator[bytes]:
        """read() of each (digest, location), in order (a remote store reads ahead concurrently)."""

    def sync(self) -> None:
        """Makes every append so far durable on disk."""

    def dead(self, digest: bytes, location: bytes) -> None:
        """Notes that nothing references this blob any more (space may be reclaimed)."""

    def closed_segments(self, settled_for: float = 0.0) -> dict[int, int]:
        """Segments no longer appended to and unchanged for settled_for seconds, with their sizes in
        bytes (compaction candidates)."""

    def remove_segment(self, segment: int) -> None:
        """Deletes a segment whose live blobs were all moved elsewhere."""

    def close(self) -> None:
        """Releases files; later calls fail with Unavailable."""


def read_each(store: BlobStore, blobs: Sequence[tuple[bytes, bytes]]) -> Iterator[bytes]:
    """read_many of a local store: one read after the other (nothing to overlap)."""
    for digest, location in blobs:
        yield store.read(digest, location)


def segment_of(location: bytes) -> int:
    """The segment a location points into."""
    return _LOCATION.unpack(location)[0]


class MemoryBlobStore:
    """Blobs in a list: for the memory backend and tests."""

    def __init__(self) -> None:
        self._blobs: list[bytes | None] = []
        self._lock = threading.Lock()
        self._closed = False

    def append(self, blobs: Sequence[Blob]) -> list[bytes]:
        if self._closed:
            raise Unavailable("the blob store is closed")
        with self._lock:
            start = len(self._blobs)
            self._blobs.extend(bytes(b) for _, b in blobs)
        return [_LOCATION.pack(0, start + i, len(b)) for i, (_, b) in enumerate(blobs)]

    def read(self, digest: bytes, location: bytes) -> bytes:
        if self._closed:
            raise Unavailable("the blob store is closed")
        _, index, length = _LOCATION.unpack(location)
        blob = self._blobs[index] if index < len(self._blobs) else None
        if blob is None or len(blob) != length:
            raise DataLoss("a stored chunk is missing from the blob store")
        return blob

    def read_many(self, blobs: Sequence[tuple[bytes, bytes]]) -> Iterator[bytes]:
        return read_each(self, blobs)

    def sync(self) -> None:
        if self._closed:
            raise Unavailable("the blob store is closed")

    def dead(self, digest: bytes, location: bytes) -> None:
        _, index, _ = _LOCATION.unpack(location)
        self._blobs[index] = None  # memory is reclaimed at once: nothing to compact

    def closed_segments(self, settled_for: float = 0.0) -> dict[int, int]:
        return {}

    def remove_segment(self, segment: int) -> None:
        raise ValueError("the memory blob store has no segments")

    def close(self) -> None:
        self._closed = True


class SegmentBlobStore:
    """Blobs appended to numbered segment files ``seg-NNNNNNNN.dat``; reads are positional (pread)."""

    def __init__(self, directory: str | os.PathLike[str], segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self._readers: dict[int, int] = {}
        self._unsynced: set[int] = set()
        existing = sorted(int(p.stem[4:]) for p in self.directory.glob("seg-*.dat"))
        self._active = existing[-1] if existing else 1
        self._fd = self._open_for_append(self._active)
        self._size = os.fstat(self._fd).st_size
        self._closed = False

    def _path(self, segment: int) -> Path:
        return self.directory / f"seg-{segment:08d}.dat"

    def _open_for_append(self, segment: int) -> int:
        return os.open(self._path(segment), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def append(self, blobs: Sequence[Blob]) -> list[bytes]:
        locations = []
        with self._lock:
            if self._closed:
                raise Unavailable("the blob store is closed")
            for _, blob in blobs:
                if self._size >= self._segment_bytes:
                    self._roll()
                try:
                    written = os.write(self._fd, blob)
                    while written < len(blob):  # short writes happen on signals and full disks
                        written += os.write(self._fd, memoryview(blob)[written:])
                except OSError as exc:
                    # Cut the partial blob off: with O_APPEND the next one must land at _size.
                    os.ftruncate(self._fd, self._size)
                    raise Unavailable(f"cannot write chunk bytes: {exc}", path=str(self.directory)) from exc
                locations.append(_LOCATION.pack(self._active, self._size, len(blob)))
                self._size += len(blob)
            self._unsynced.add(self._active)
        return locations

    def _roll(self) -> None:
        os.fdatasync(self._fd)
        self._unsynced.discard(self._active)
        os.close(self._fd)
        self._active += 1
        self._fd = self._open_for_append(self._active)
        self._size = 0

    def read(self, digest: bytes, location: bytes) -> bytes:
        segment, offset, length = _LOCATION.unpack(location)
        fd = self._readers.get(segment)
        if fd is None:
            with self._lock:
                if self._closed:
                    raise Unavailable("the blob store is closed")
                try:
                    fd = self._readers.setdefault(segment, os.open(self._path(segment), os.O_RDONLY))
                except FileNotFoundError as exc:
                    raise DataLoss(f"segment {segment} is missing", segment=segment) from exc
        data = os.pread(fd, length, offset)
        if len(data) != length:
            raise DataLoss(f"segment {segment} is truncated at {offset}", segment=segment)
        return data

    def read_many(self, blobs: Sequence[tuple[bytes, bytes]]) -> Iterator[bytes]:
        return read_each(self, blobs)

    def sync(self) -> None:
        with self._lock:
            if self._closed:
                raise Unavailable("the blob store is closed")
            if self._active in self._unsynced:
                try:
                    os.fdatasync(self._fd)
                except OSError as exc:
                    raise Unavailable(f"cannot sync chunk bytes: {exc}") from exc
            self._unsynced.clear()

    def dead(self, digest: bytes, location: bytes) -> None:
        """Dead space is reclaimed by segment compaction (ContentStore.compact)."""

    def closed_segments(self, settled_for: float = 0.0) -> dict[int, int]:
        with self._lock:
            active = self._active
        sizes = {}
        now = time.time()
        for path in self.directory.glob("seg-*.dat"):
            number = int(path.stem[4:])
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if number != active and now - stat.st_mtime >= settled_for:
                sizes[number] = stat.st_size
        return sizes

    def link_segments(self, target: Path) -> dict[str, int]:
        """Hard-links every segment file into ``target`` (same filesystem) after a sync and returns
        {file name: size now}: closed segments never change, and bytes appended to the active one
        later are past the size returned (a copy stops there)."""
        target.mkdir(parents=True, exist_ok=True)
        self.sync()
        with self._lock:
            sizes = {}
            for path in sorted(self.directory.glob("seg-*.dat")):
                os.link(path, target / path.name)
                sizes[path.name] = os.stat(target / path.name).st_size
            return sizes

    def remove_segment(self, segment: int) -> None:
        """Unlinks the file; a reader that already opened it keeps reading until close (POSIX)."""
        with self._lock:
            if segment == self._active:
                raise ValueError("cannot remove the segment being appended to")
            self._path(segment).unlink(missing_ok=True)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.fdatasync(self._fd)
            os.close(self._fd)
            for fd in self._readers.values():
                os.close(fd)
            self._readers.clear()
