"""TracedBlobStore: a blob store whose appends, reads and syncs are tracing spans.

build_blob_store wraps the store in it only while tracing is on, so an untraced server pays nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ..tracing import span
from .blobs import Blob, BlobStore


class TracedBlobStore:
    """Spans "blob.append", "blob.read" (one per blob, read_many's included) and "blob.sync" around
    the wrapped store's calls; everything else (and store-specific extras such as ping) passes through."""

    def __init__(self, inner: BlobStore) -> None:
        self.inner = inner
        self._kind = type(inner).__name__

    def append(self, blobs: Sequence[Blob]) -> list[bytes]:
        with span("blob.append", store=self._kind, blobs=len(blobs), bytes=sum(len(b) for _, b in blobs)):
            return self.inner.append(blobs)

    def read(self, digest: bytes, location: bytes) -> bytes:
        with span("blob.read", store=self._kind) as current:
            data = self.inner.read(digest, location)
            if current is not None:
                current.set_attribute("bytes", len(data))
            return data

    def read_many(self, blobs: Sequence[tuple[bytes, bytes]]) -> Iterator[bytes]:
        pieces = self.inner.read_many(blobs)
        for _ in blobs:
            with span("blob.read", store=self._kind):
                data = next(pieces, None)
            if data is None:
                return
            yield data

    def sync(self) -> None:
        with span("blob.sync", store=self._kind):
            self.inner.sync()

    def dead(self, digest: bytes, location: bytes) -> None:
        self.inner.dead(digest, location)

    def closed_segments(self, settled_for: float = 0.0) -> dict[int, int]:
        return self.inner.closed_segments(settled_for)

    def remove_segment(self, segment: int) -> None:
        self.inner.remove_segment(segment)

    def close(self) -> None:
        self.inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
