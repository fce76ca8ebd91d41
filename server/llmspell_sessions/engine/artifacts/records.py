"""Artifact records as stored in the ``artifacts`` column family (keys: storage/keys.py).

Deleted artifacts keep their record (``deleted_seq`` set) while the session exists, so history
(snapshots, rewind) can still describe them; they are invisible to Get and List.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import orjson

from ...model import Artifact, ArtifactType
from ..codec import from_micros, to_micros

_HEADER = struct.Struct("<I")
_CHUNK = struct.Struct("<32sI")


@dataclass(slots=True)
class ArtifactRecord:
    """An artifact as stored: its public metadata, its chunk table and its place in the log."""

    artifact: Artifact
    chunks: list[tuple[bytes, int]] = field(default_factory=list)  # (digest, logical size)
    stored_seq: int = 0
    deleted_seq: int = 0

    @property
    def live(self) -> bool:
        return self.deleted_seq == 0


def encode_record(record: ArtifactRecord) -> bytes:
    a = record.artifact
    meta = orjson.dumps(
        [
            1,
            a.artifact_id,
            a.session_id,
            a.name,
            a.version,
            int(a.type),
            a.custom_type,
            a.description,
            a.tags,
            a.mime_type,
            a.metadata,
            a.size,
            a.content_digest,
            a.stored_size,
            a.compressed,
            a.chunk_count,
            a.new_bytes,
            a.parent_artifact_id,
            a.previous_digest,
            to_micros(a.create_time),
            a.created_by,
            record.stored_seq,
            record.deleted_seq,
        ]
    )
    table = b"".join(_CHUNK.pack(d, n) for d, n in record.chunks)
    return _HEADER.pack(len(meta)) + meta + table


FIELDS = 23  # the metadata fields this version writes (version 1 first)


def decode_record(data: bytes, with_chunks: bool = True) -> ArtifactRecord:
    (length,) = _HEADER.unpack_from(data)
    (
        _,
        aid,
        sid,
        name,
        version,
        kind,
        custom,
        desc,
        tags,
        mime,
        meta,
        size,
        digest,
        stored,
        compressed,
        count,
        new_bytes,
        parent,
        previous,
        created,
        by,
        stored_seq,
        deleted_seq,
    ) = orjson.loads(data[4 : 4 + length])[:FIELDS]  # fields appended by a later version are skipped
    artifact = Artifact(
        aid,
        sid,
        name,
        version,
        ArtifactType(kind),
        custom,
        desc,
        tags,
        mime,
        meta,
        size,
        digest,
        stored,
        compressed,
        count,
        new_bytes,
        parent,
        previous,
        from_micros(created),
        by,
    )
    chunks = list(_CHUNK.iter_unpack(data[4 + length :])) if with_chunks else []
    return ArtifactRecord(artifact, chunks, stored_seq, deleted_seq)
