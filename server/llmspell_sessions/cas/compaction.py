"""Segment compaction: moves the live chunks out of mostly dead segments and removes the segments.

Only segments nobody appends to any more, and untouched for SETTLE_SECONDS, are candidates (the
BlobStore says which): an upload in progress may still commit a record pointing into a segment it
wrote before the segment rolled, and no upload stream lives that long. Chunks are moved with their
stored bytes as they are (no recompression) and their records are rewritten only if they still
point at the old place.
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict

from ..storage import WriteBatch
from ..storage.blobs import segment_of
from .store import ChunkRecord, ContentStore

SETTLE_SECONDS = 3600.0
_GROUP = 256


def compact_segments(content: ContentStore, dead_ratio: float, settle: float = SETTLE_SECONDS) -> tuple[int, int]:
    """Compacts every settled segment whose dead share reaches dead_ratio; returns (segments, bytes freed)."""
    closed = content.blobs.closed_segments(settle)
    if not closed:
        return 0, 0
    live: dict[int, list[tuple[bytes, ChunkRecord]]] = defaultdict(list)
    live_bytes: Counter[int] = Counter()
    for digest, record in content.chunk_records():
        segment = segment_of(record.location)
        if segment in closed:
            live[segment].append((digest, record))
            live_bytes[segment] += record.stored_size
    segments = freed = 0
    for segment, size in sorted(closed.items()):
        dead = size - live_bytes[segment]
        if size and dead / size >= dead_ratio:
            _move(content, live[segment])
            content.blobs.remove_segment(segment)
            segments, freed = segments + 1, freed + dead
    return segments, freed


def _move(content: ContentStore, chunks: list[tuple[bytes, ChunkRecord]]) -> None:
    for start in range(0, len(chunks), _GROUP):
        group = chunks[start : start + _GROUP]
        locations = content.blobs.append([(d, content.blobs.read(d, record.location)) for d, record in group])
        content.blobs.sync()  # the copies are durable before any record points at them
        with content.storage.transaction():
            batch = WriteBatch()
            content.lock([digest for digest, _ in group])
            current = content.records([digest for digest, _ in group])
            for (digest, old), location, now in zip(group, locations, current, strict=True):
                if now is not None and now.location == old.location:
                    batch.put("chunks", digest, dataclasses.replace(old, location=location).encode())
            content.storage.write(batch)
