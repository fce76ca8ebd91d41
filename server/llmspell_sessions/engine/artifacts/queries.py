"""Reading artifacts: download by ranges, list with filters and paging, storage statistics."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator
from datetime import datetime

from ...cas import ContentStore
from ...errors import ArtifactNotFound, InvalidArgument
from ...model import Artifact, ArtifactType, Caller, Page, Role, Session, StorageStats
from ...storage import Storage, keys
from .. import validation
from ..admission import READ
from ..codec import decode_session, to_micros
from ..paging import decode_token, encode_token, query_fingerprint
from ..unit_of_work import Units
from .store import ArtifactStore

_READ_GROUP = 64  # chunks read per lookup; access is checked again between groups
ARTIFACT_ORDERINGS = {
    "create_time": (lambda a: (to_micros(a.create_time), a.artifact_id), False),
    "create_time asc": (lambda a: (to_micros(a.create_time), a.artifact_id), False),
    "create_time desc": (lambda a: (to_micros(a.create_time), a.artifact_id), True),
    "name": (lambda a: (a.name, a.version), False),
    "name asc": (lambda a: (a.name, a.version), False),
    "size desc": (lambda a: (a.size, a.artifact_id), True),
}


class ArtifactQueries:
    """Artifact reads: downloads, listings, statistics."""

    def __init__(self, units: Units, storage: Storage, content: ContentStore, store: ArtifactStore) -> None:
        self._units = units
        self.storage = storage
        self.content = content
        self._store = store

    def read(
        self, c: Caller, artifact_id: str, offset: int, limit: int, *, session_id: str = "", name: str = "",
        version: int = 0,
    ) -> tuple[Artifact, Iterator[bytes]]:  # fmt: skip
        """Metadata and an iterator over the bytes [offset, offset+limit) (limit 0 = to the end),
        chunk by chunk, each verified against its digest; never the whole artifact in memory. The
        artifact is named by id, or by session, name and version (0 = latest). The caller's access
        is checked again before each group of chunks: a revoke ends the download."""
        if offset < 0 or limit < 0:
            raise InvalidArgument("offset and limit must not be negative", field="offset")
        if not artifact_id:
            artifact_id = self._store.info(c, "", session_id, name, version).artifact_id
        _, record = self._store.find_record(c, artifact_id)
        size = record.artifact.size
        if offset > size:
            raise InvalidArgument(f"offset {offset} is past the end ({size} bytes)", field="offset")
        end = size if limit == 0 else min(size, offset + limit)
        return record.artifact, self._pieces(c, record.artifact.session_id, record.chunks, offset, end)

    def _pieces(
        self, c: Caller, session_id: str, chunks: list[tuple[bytes, int]], start: int, end: int
    ) -> Iterator[bytes]:
        position = 0
        wanted = []
        for digest, size in chunks:
            if position + size > start and position < end:
                wanted.append((digest, position, size))
            position += size
        for first in range(0, len(wanted), _READ_GROUP):
            if first:
                self._units.read_session(c, session_id, READ)
            group = wanted[first : first + _READ_GROUP]
            records = self.content.records([d for d, _, _ in group])
            read = self.content.read_chunks([(d, r) for (d, _, _), r in zip(group, records, strict=True)])
            for (_, at, size), data in zip(group, read, strict=True):
                yield data[max(start - at, 0) : min(end - at, size)]

    def get_whole(
        self, c: Caller, session_id: str, artifact_id: str, *, name: str = "", version: int = 0
    ) -> tuple[Artifact, bytes]:
        """An artifact of a session (by id, or by name and version) with all its bytes (for small
        artifacts; stream big ones)."""
        artifact, pieces = self.read(c, artifact_id, 0, 0, session_id=session_id, name=name, version=version)
        if artifact.session_id != session_id:
            raise ArtifactNotFound(
                f"artifact {artifact_id} is not in session {session_id}", artifact_id=artifact_id, session_id=session_id
            )
        return artifact, b"".join(pieces)

    def list(
        self,
        c: Caller,
        session_id: str,
        types: Iterable[ArtifactType],
        tags: Iterable[str],
        name_pattern: str,
        mime_type: str,
        min_size: int,
        max_size: int,
        create_time_after: datetime | None,
        create_time_before: datetime | None,
        all_versions: bool,
        order_by: str,
        page_size: int,
        page_token: str,
    ) -> Page:
        """One page of a session's artifacts (latest version of each name unless all_versions)."""
        skey, _ = self._units.read_session(c, session_id, READ)
        order = " ".join(order_by.lower().split()) or "create_time"
        if order not in ARTIFACT_ORDERINGS:
            raise InvalidArgument(f"order_by {order_by!r} is not one of {sorted(ARTIFACT_ORDERINGS)}", field="order_by")
        size = validation.page_size(page_size)
        wanted_types = {ArtifactType(t) for t in types}
        wanted_tags = set(validation.tags(tags))
        validation.text(name_pattern, "name_pattern", max_bytes=1024)
        if min_size < 0 or max_size < 0:
            raise InvalidArgument("min_size and max_size must not be negative", field="min_size")
        after, before = validation.time_after(create_time_after), validation.time_before(create_time_before)
        fingerprint = query_fingerprint(
            [
                c.tenant,
                session_id,
                sorted(wanted_types),
                sorted(wanted_tags),
                name_pattern,
                mime_type,
                min_size,
                max_size,
                after,
                before,
                all_versions,
                order,
            ]
        )
        start = int.from_bytes(decode_token(page_token, fingerprint)[0], "big") if page_token else 0

        def keep(a: Artifact) -> bool:
            created = to_micros(a.create_time)
            return (
                (not wanted_types or a.type in wanted_types)
                and wanted_tags.issubset(a.tags)
                and (not name_pattern or fnmatch.fnmatchcase(a.name, name_pattern))
                and (not mime_type or a.mime_type == mime_type)
                and a.size >= min_size
                and (not max_size or a.size <= max_size)
                and (not after or created > after)
                and (not before or created < before)
            )

        if all_versions:
            candidates = [r.artifact for r in self._store.session_records(skey) if r.live]
        else:
            candidates = self._store.latest_artifacts(skey)
        key, descending = ARTIFACT_ORDERINGS[order]
        matches = sorted((a for a in candidates if keep(a)), key=key, reverse=descending)
        page = matches[start : start + size]
        more = start + size < len(matches)
        token = encode_token((start + size).to_bytes(8, "big"), len(matches), fingerprint) if more else ""
        return Page(page, token, len(matches))

    def stats(self, c: Caller, session_id: str) -> StorageStats:
        """Logical and stored bytes of a session's live artifacts, or of what the caller sees of its tenant."""
        if session_id:
            prefixes = [self._units.read_session(c, session_id, READ)[0]]
        else:
            prefixes = [
                k
                for k, raw in self.storage.scan("sessions", keys.tenant_prefix(c.tenant))
                if c.role >= Role.ADMIN or _visible(decode_session(raw), c.subject)
            ]
        count = logical = 0
        unique: dict[bytes, int] = {}
        for skey in prefixes:
            for record in self._store.session_records(skey, with_chunks=True):
                if record.live:
                    count += 1
                    logical += record.artifact.size
                    unique.update(record.chunks)
        digests = list(unique)
        stored = 0
        for first in range(0, len(digests), 1024):
            group = digests[first : first + 1024]
            stored += sum(r.stored_size for r in self.content.records(group) if r is not None)
        unique_logical = sum(unique.values())
        return StorageStats(
            artifact_count=count,
            logical_bytes=logical,
            stored_bytes=stored,
            unique_chunks=len(unique),
            dedup_ratio=logical / unique_logical if unique_logical else 1.0,
            compression_ratio=unique_logical / stored if stored else 1.0,
        )


def _visible(session: Session, subject: str) -> bool:
    return session.created_by == subject or subject in session.grants
