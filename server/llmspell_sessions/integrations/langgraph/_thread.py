"""ThreadStore: one thread's checkpoints and writes in one session (layout in _layout), one call per
operation: a put or a batch of writes is one ApplyChanges, a checkpoint with its writes one
ReadSession, a page of checkpoints (newest first) one ReadSession."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from .._backend import SessionBackend
from .._blobs import BlobCodec
from ._layout import (
    NAMESPACES,
    artifact_name,
    checkpoints_prefix,
    is_record_key,
    namespace_key,
    ns_part,
    record_key,
    write_key,
)

Typed = tuple[str, bytes]
LATEST_PAGE = 8  # the newest checkpoint and a few writes: what get_tuple usually needs
MAX_PAGE = 1000
WRITE_BATCH = 256
RECORD_BUDGET = 512 * 1024
"""Channel values kept inline in a record up to this total; the largest beyond it become artifacts,
so a record stays far below the 4 MiB of a state value and of a gRPC message."""


@dataclass(slots=True)
class Stored:
    """A checkpoint record as stored, with its pending writes ({slot key: write})."""

    record: dict[str, Any]
    writes: dict[str, list[Any]] = field(default_factory=dict)


class ThreadStore:
    """Reads and writes a thread's keys in its session; values stay serde-encoded (type, bytes)."""

    def __init__(self, backend: SessionBackend, codec: BlobCodec, session_id: str) -> None:
        self.backend = backend
        self.codec = codec
        self.sid = session_id

    # -- reading ----------------------------------------------------------------------------

    def namespaces(self) -> dict[str, str]:
        """{ns part: checkpoint_ns} of every namespace of the thread."""
        return {key[len(NAMESPACES) :]: value for key, value in self._scan(NAMESPACES)}

    def checkpoint(self, checkpoint_ns: str, checkpoint_id: str) -> Stored | None:
        """One checkpoint with its writes (one call), or None."""
        nsp = ns_part(checkpoint_ns)
        return next(self._grouped(self._scan(record_key(nsp, checkpoint_id))), None)

    def checkpoints(self, checkpoint_ns: str, before: str | None = None, limit: int | None = None) -> Iterator[Stored]:
        """Checkpoints newest first (older than ``before`` when given), each with its writes; the
        first page is small when only a few are wanted."""
        nsp = ns_part(checkpoint_ns)
        start = record_key(nsp, before) if before else ""
        page = MAX_PAGE if limit is None else min(MAX_PAGE, LATEST_PAGE * limit)  # a checkpoint and some writes each
        scan = self._scan(checkpoints_prefix(nsp), reverse=True, start_after=start, page=page)
        return self._grouped(scan, reverse=True)

    def _scan(
        self, prefix: str, *, reverse: bool = False, start_after: str = "", page: int = MAX_PAGE
    ) -> Iterator[tuple[str, Any]]:
        """(key, value) under a prefix, one ReadSession per page."""
        token = ""
        while True:
            read = self.backend.read_session(
                self.sid,
                state_prefix=prefix,
                reverse=reverse,
                start_after=start_after,
                page_size=page,
                page_token=token,
            )
            yield from read.entries
            token = read.next_state_page_token
            if not token:
                return
            page = MAX_PAGE

    @staticmethod
    def _grouped(entries: Iterable[tuple[str, Any]], *, reverse: bool = False) -> Iterator[Stored]:
        """Records with their writes, from a scan: forwards a record's writes follow it (it is their
        keys' prefix), backwards they precede it."""
        writes: dict[str, list[Any]] = {}
        current: Stored | None = None
        for key, value in entries:
            if not is_record_key(key):
                writes[key] = value
            elif reverse:
                yield Stored(value, {k: w for k, w in writes.items() if k.startswith(key)})
                writes = {}
            else:
                if current is not None:
                    yield current
                current = Stored(value)
                writes = current.writes  # the writes that follow are this record's
        if current is not None:
            yield current

    def decode(self, value: dict[str, Any]) -> Typed:
        return self.codec.decode(self.sid, value)

    # -- writing ----------------------------------------------------------------------------

    def put(self, checkpoint_ns: str, record: dict[str, Any], values: dict[str, Typed]) -> None:
        """Stores a checkpoint with its channel values: one call (artifacts first for large values)."""
        nsp = ns_part(checkpoint_ns)
        key = record_key(nsp, record["id"])
        record["cv"] = self._encode_values(key, values)
        self.backend.apply_changes(self.sid, {key: record}, create_entries={namespace_key(nsp): checkpoint_ns})

    def _encode_values(self, key: str, values: dict[str, Typed]) -> dict[str, Any]:
        """Channel values inline, the largest ones as artifacts while the total passes RECORD_BUDGET."""
        by_size = sorted(values.items(), key=lambda item: len(item[1][1]))
        encoded: dict[str, Any] = {}
        total = 0
        for channel, typed in by_size:
            total += len(typed[1])
            name = artifact_name(f"{key}/{channel}")
            encoded[channel] = self.codec.encode(self.sid, name, *typed, inline=total <= RECORD_BUDGET)
        return encoded

    def put_writes(
        self, checkpoint_ns: str, checkpoint_id: str, writes: list[tuple[str, int, str, Typed, str]]
    ) -> None:
        """Adds (task_id, idx, channel, value, task_path) writes in one call; an existing
        (task_id, idx >= 0) keeps its first value (create-only), special writes (idx < 0) replace."""
        nsp = ns_part(checkpoint_ns)
        replaced: dict[str, Any] = {}
        created: dict[str, Any] = {}
        for task_id, idx, channel, typed, task_path in writes:
            key = write_key(nsp, checkpoint_id, task_id, idx)
            value = self.codec.encode(self.sid, artifact_name(key), *typed)
            (created if idx >= 0 else replaced)[key] = [task_id, channel, value, task_path, idx]
        if replaced or created:
            self.backend.apply_changes(self.sid, replaced, create_entries=created)

    def copy(self, checkpoint_ns: str, stored: Stored, source: ThreadStore) -> None:
        """Writes a checkpoint of another thread (values re-encoded into this session)."""
        record = dict(stored.record)
        values = {ch: source.decode(v) for ch, v in record.get("cv", {}).items()}
        self.put(checkpoint_ns, record, values)
        writes = [(w[0], w[4], w[1], source.decode(w[2]), w[3]) for w in stored.writes.values()]
        if writes:
            self.put_writes(checkpoint_ns, record["id"], writes)

    def remove(self, checkpoint_ns: str, doomed: set[str]) -> None:
        """Deletes checkpoints and their writes (and the artifacts behind their large values); the
        namespace goes when its last checkpoint does."""
        nsp = ns_part(checkpoint_ns)
        deleted: list[str] = []
        remaining = 0
        for stored in self.checkpoints(checkpoint_ns):
            if stored.record["id"] not in doomed:
                remaining += 1
                continue
            deleted.append(record_key(nsp, stored.record["id"]))
            deleted.extend(stored.writes)
            for value in stored.record.get("cv", {}).values():
                self.codec.release(self.sid, value)
            for write in stored.writes.values():
                self.codec.release(self.sid, write[2])
        if not remaining:
            deleted.append(namespace_key(nsp))
        for start in range(0, len(deleted), WRITE_BATCH):
            self.backend.set_session_state(self.sid, {}, deleted[start : start + WRITE_BATCH])
