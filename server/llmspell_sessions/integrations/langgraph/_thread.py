"""ThreadStore: one thread's checkpoints, writes and channel values in one session (layout in _layout)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .._backend import SessionBackend
from .._blobs import BlobCodec
from ._layout import (
    REGISTRY,
    SEGMENT,
    artifact_name,
    blob_key,
    head_key,
    ns_part,
    record_key,
    segment_key,
    writes_key,
)

Typed = tuple[str, bytes]
PAGE = 64
WRITE_BATCH = 256


class ThreadStore:
    """Reads and writes a thread's keys in its session; values stay serde-encoded (type, bytes)."""

    def __init__(self, backend: SessionBackend, codec: BlobCodec, session_id: str) -> None:
        self.backend = backend
        self.codec = codec
        self.sid = session_id

    # -- reading ----------------------------------------------------------------------------

    def read(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = list(keys)
        return self.backend.get_session_state(self.sid, wanted) if wanted else {}

    def namespaces(self) -> dict[str, str]:
        """{ns part: checkpoint_ns} of every namespace of the thread."""
        return self.read([REGISTRY]).get(REGISTRY) or {}

    def head_id(self, checkpoint_ns: str) -> str:
        head = self.read([head_key(ns_part(checkpoint_ns))]).get(head_key(ns_part(checkpoint_ns)))
        return head["id"] if head else ""

    def ids(self, nsp: str) -> list[str]:
        """Every checkpoint id of a namespace, newest (largest) first."""
        head = self.read([head_key(nsp)]).get(head_key(nsp))
        if not head:
            return []
        segments = self.read(segment_key(nsp, k) for k in range(head["segs"]))
        found = set(head["tail"]).union(*segments.values())
        return sorted(found, reverse=True)

    def records(self, nsp: str, ids: list[str]) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
        """(id, record, writes) of the ids that exist, in the order given, a page per call."""
        for start in range(0, len(ids), PAGE):
            page = ids[start : start + PAGE]
            keys = [k for cid in page for k in (record_key(nsp, cid), writes_key(nsp, cid))]
            got = self.read(keys)
            for cid in page:
                record = got.get(record_key(nsp, cid))
                if record is not None:
                    yield cid, record, got.get(writes_key(nsp, cid)) or {}

    def blobs(self, nsp: str, versions: dict[str, Any]) -> dict[str, Typed]:
        """{channel: (type, bytes)} of the channel versions a checkpoint names ("empty" left out)."""
        keys = {blob_key(nsp, ch, v): ch for ch, v in versions.items()}
        found = self.read(keys)
        decoded = {keys[k]: self.codec.decode(self.sid, v) for k, v in found.items()}
        return {ch: typed for ch, typed in decoded.items() if typed[0] != "empty"}

    def decode(self, value: dict[str, Any]) -> Typed:
        return self.codec.decode(self.sid, value)

    # -- writing ----------------------------------------------------------------------------

    def put(self, checkpoint_ns: str, cid: str, record: dict[str, Any], blobs: dict[str, tuple[Any, Typed]]) -> None:
        """Stores a checkpoint, the channel values it introduced, and its place in the index."""
        nsp = ns_part(checkpoint_ns)
        got = self.read([head_key(nsp), REGISTRY])
        entries: dict[str, Any] = {}
        for channel, (version, typed) in blobs.items():
            key = blob_key(nsp, channel, version)
            entries[key] = self.codec.encode(self.sid, artifact_name(key), *typed)
        entries[record_key(nsp, cid)] = record
        head = got.get(head_key(nsp)) or {"id": "", "segs": 0, "tail": []}
        if cid not in head["tail"]:
            head["tail"].append(cid)
        head["id"] = max(head["id"], cid)
        if len(head["tail"]) >= SEGMENT:
            entries[segment_key(nsp, head["segs"])] = head["tail"]
            head["segs"], head["tail"] = head["segs"] + 1, []
        entries[head_key(nsp)] = head
        registry = got.get(REGISTRY) or {}
        if nsp not in registry:
            entries[REGISTRY] = {**registry, nsp: checkpoint_ns}
        self.backend.set_session_state(self.sid, entries)

    def put_writes(self, checkpoint_ns: str, cid: str, writes: list[tuple[str, int, str, Typed, str]]) -> None:
        """Adds (task_id, idx, channel, value, task_path) writes; an existing (task_id, idx >= 0) is kept."""
        key = writes_key(ns_part(checkpoint_ns), cid)
        stored = self.read([key]).get(key) or {}
        changed = False
        for task_id, idx, channel, typed, task_path in writes:
            slot = f"{task_id}|{idx}"
            if idx >= 0 and slot in stored:
                continue
            value = self.codec.encode(self.sid, artifact_name(f"{key}/{slot}"), *typed)
            stored[slot] = [task_id, channel, value, task_path, idx]
            changed = True
        if changed:
            self.backend.set_session_state(self.sid, {key: stored})

    def remove(self, checkpoint_ns: str, doomed: set[str]) -> None:
        """Deletes checkpoints, their writes, values no remaining checkpoint uses, and index entries."""
        nsp = ns_part(checkpoint_ns)
        ids = self.ids(nsp)
        keep = [cid for cid in ids if cid not in doomed]
        gone = [cid for cid in ids if cid in doomed]
        if not gone:
            return
        used = {blob_key(nsp, ch, v) for _, rec, _ in self.records(nsp, keep) for ch, v in rec.get("v", {}).items()}
        deleted: list[str] = []
        for cid, rec, writes in self.records(nsp, gone):
            deleted += [record_key(nsp, cid), writes_key(nsp, cid)]
            for _, _, value, _, _ in writes.values():
                self.codec.release(self.sid, value)
            deleted += [k for ch, v in rec.get("v", {}).items() if (k := blob_key(nsp, ch, v)) not in used]
        for value in self.read(k for k in deleted if k.startswith("lg/b/")).values():
            self.codec.release(self.sid, value)
        entries, stale = self._index(nsp, checkpoint_ns, keep)
        self._write(entries, [*dict.fromkeys(deleted), *stale])

    def _index(self, nsp: str, checkpoint_ns: str, ids: list[str]) -> tuple[dict[str, Any], list[str]]:
        """State entries that make the namespace's index hold exactly ids, and keys to delete."""
        head = self.read([head_key(nsp)]).get(head_key(nsp)) or {"segs": 0}
        ordered = sorted(ids)
        sealed = len(ordered) // SEGMENT
        entries: dict[str, Any] = {segment_key(nsp, k): ordered[k * SEGMENT : (k + 1) * SEGMENT] for k in range(sealed)}
        stale = [segment_key(nsp, k) for k in range(sealed, head["segs"])]
        if ordered:
            entries[head_key(nsp)] = {"id": ordered[-1], "segs": sealed, "tail": ordered[sealed * SEGMENT :]}
            return entries, stale
        registry = self.namespaces()
        registry.pop(nsp, None)
        entries[REGISTRY] = registry
        return entries, [*stale, head_key(nsp)]

    def merge_index(self, checkpoint_ns: str, ids: Iterable[str]) -> None:
        """Adds ids to a namespace's index (copying into a thread that already has checkpoints)."""
        nsp = ns_part(checkpoint_ns)
        entries, stale = self._index(nsp, checkpoint_ns, sorted(set(self.ids(nsp)).union(ids)))
        registry = self.namespaces()
        entries[REGISTRY] = {**registry, nsp: checkpoint_ns}
        self._write(entries, stale)

    def write_raw(self, entries: dict[str, Any]) -> None:
        self._write(entries, [])

    def _write(self, entries: dict[str, Any], delete_keys: list[str]) -> None:
        """set_session_state in batches (one call per WRITE_BATCH keys)."""
        items = list(entries.items())
        deletes = [k for k in delete_keys if k not in entries]
        while items or deletes:
            batch, items = dict(items[:WRITE_BATCH]), items[WRITE_BATCH:]
            gone, deletes = deletes[: WRITE_BATCH - len(batch)], deletes[WRITE_BATCH - len(batch) :]
            self.backend.set_session_state(self.sid, batch, gone)
