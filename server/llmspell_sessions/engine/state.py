"""The key-value state of a session: JSON values under text keys.

Every change of state (SetSessionState, fork, rewind) goes through ``StateStore.write``, which keeps
the session record's ``state_bytes`` (keys plus encoded values) exact, so the unit of work can hold
every session to max_state_bytes.

Whole states read for a load are cached (``StateCache``) against the session record they were read
with: every write of a session's state also writes its record, and a written record is a new object,
so an entry is valid exactly while the cached record is the same object.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from ..errors import InvalidArgument
from ..model import Caller, EventSpec, Session
from ..storage import Storage, keys
from . import validation
from .admission import READ, WRITE
from .codec import UNKNOWN_STATE_BYTES, clone_session
from .limits import MAX_STATE_VALUE_BYTES
from .sessions import check_etag, require_active
from .unit_of_work import UnitOfWork, Units

STATE_CACHE_BYTES = 64 * 1024 * 1024  # encoded states held at most, all sessions together
STATE_CACHE_ENTRY_BYTES = 64 * 1024  # larger states are read from the store every time


class StateCache:
    """Whole states (one JSON document each) by session key, valid while their record is current.

    Only records of an unshared store are cached (``SessionRecords``): on a shared one each load reads
    a new record object, so nothing here is ever found. At most ``max_entries`` states (the record
    cache's size: an entry keeps its record alive) and STATE_CACHE_BYTES of documents are held."""

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._entries: OrderedDict[bytes, tuple[Session, bytes]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, skey: bytes, record: Session) -> dict[str, Any] | None:
        entry = self._entries.get(skey)
        if entry is None or entry[0] is not record:
            return None
        return orjson.loads(entry[1])  # a new dict each time: callers may change what they get

    def put(self, skey: bytes, record: Session, state: dict[str, Any]) -> None:
        if not self._max_entries:
            return
        document = orjson.dumps(state)
        if len(document) > STATE_CACHE_ENTRY_BYTES:
            return
        with self._lock:
            old = self._entries.pop(skey, None)
            self._bytes += len(document) - (len(old[1]) if old else 0)
            self._entries[skey] = (record, document)
            while self._bytes > STATE_CACHE_BYTES or len(self._entries) > self._max_entries:
                _, (_, dropped) = self._entries.popitem(last=False)
                self._bytes -= len(dropped)


class StateStore:
    """Reads and writes session state."""

    def __init__(self, units: Units, storage: Storage) -> None:
        self._units = units
        self._storage = storage
        self._cache = StateCache(0 if storage.shared else units.config.session_cache_size)

    def set(
        self, caller: Caller, session_id: str, entries: Mapping[str, Any], delete_keys: Iterable[str], etag: str
    ) -> Session:
        """Sets and deletes keys in one atomic step that appends one state.changed event."""
        encoded, deleted = encode_changes(entries, delete_keys)
        if not encoded and not deleted:
            raise InvalidArgument("nothing to change: give entries or delete_keys", field="entries")
        with self._units.begin(caller) as uow:
            skey, before = uow.session(session_id, WRITE)
            check_etag(before, etag)
            require_active(before)
            after = clone_session(before)
            self.write(uow, skey, after, encoded, deleted)
            payload = changed_payload(encoded, deleted)
            uow.record(skey, before, after, [EventSpec("state.changed", payload)], operation="set_session_state")
            uow.commit()
            return clone_session(after)

    def write(
        self, uow: UnitOfWork, skey: bytes, after: Session, encoded: dict[str, bytes], deleted: list[str]
    ) -> None:
        """Adds state writes to the unit and updates after.state_bytes (after is the record to commit)."""
        touched = [*encoded, *deleted]
        old_values = self._storage.multi_get("state", [keys.state_key(skey, k) for k in touched])
        if after.state_bytes == UNKNOWN_STATE_BYTES:
            after.state_bytes = sum(_entry_bytes(k[len(skey) + 1 :], v) for k, v in self._scan(skey))
        for key, old in zip(touched, old_values, strict=True):
            if old is not None:
                after.state_bytes -= _entry_bytes(key.encode(), old)
        for key, value in encoded.items():
            uow.batch.put("state", keys.state_key(skey, key), value)
            after.state_bytes += _entry_bytes(key.encode(), value)
        for key in deleted:
            uow.batch.delete("state", keys.state_key(skey, key))

    def present(self, skey: bytes, names: list[str]) -> frozenset[str]:
        """Which of these keys the session's state holds now (for sets that only create keys)."""
        values = self._storage.multi_get("state", [keys.state_key(skey, k) for k in names])
        return frozenset(k for k, v in zip(names, values, strict=True) if v is not None)

    def values(self, skey: bytes, names: Iterable[str]) -> dict[str, Any]:
        """The values of the (validated) keys that exist."""
        wanted = list(names)
        found = self._storage.multi_get("state", [keys.state_key(skey, k) for k in wanted])
        return {k: orjson.loads(v) for k, v in zip(wanted, found, strict=True) if v is not None}

    def prefixed(
        self, skey: bytes, prefix: str, *, reverse: bool, after: str | None, limit: int, budget: int
    ) -> tuple[list[tuple[str, Any]], str | None, int]:
        """Up to ``limit`` (key, value) under a key prefix, in key order or reverse, strictly past
        ``after``, stopping before ``budget`` bytes; returns them, the key to continue after (None
        when the prefix is exhausted) and the bytes used."""
        base = keys.state_prefix(skey)
        start = None
        if after is not None:
            # forward: the first key > after is >= after + NUL; reverse: skip after itself below
            start = keys.state_key(skey, after) + (b"" if reverse else b"\x00")
        found: list[tuple[str, Any]] = []
        used = 0
        for key, value in self._storage.scan("state", base + prefix.encode(), start=start, reverse=reverse):
            name = key[len(base) :].decode()
            if name == after:
                continue
            size = len(key) - len(base) + len(value)
            if len(found) == limit or (found and used + size > budget):
                return found, found[-1][0], used
            found.append((name, orjson.loads(value)))
            used += size
        return found, None, used

    def get(self, caller: Caller, session_id: str, wanted: Iterable[str]) -> dict[str, Any]:
        """The values of the keys asked for (missing keys are left out); no keys means all."""
        skey, session = self._units.read_session(caller, session_id, READ)
        names = [validation.state_key(k) for k in wanted]
        if not names:
            return self.read_state(skey, session)
        values = self._storage.multi_get("state", [keys.state_key(skey, k) for k in names])
        return {k: orjson.loads(v) for k, v in zip(names, values, strict=True) if v is not None}

    def read_state(self, skey: bytes, record: Session) -> dict[str, Any]:
        """The whole state of the session whose current record is ``record``."""
        state = self._cache.get(skey, record)
        if state is None:
            start = len(keys.state_prefix(skey))
            state = {k[start:].decode(): orjson.loads(v) for k, v in self._scan(skey)}
            self._cache.put(skey, record, state)
        return state

    def _scan(self, skey: bytes) -> Iterable[tuple[bytes, bytes]]:
        return self._storage.scan("state", keys.state_prefix(skey))


def encode_changes(entries: Mapping[str, Any], delete_keys: Iterable[str]) -> tuple[dict[str, bytes], list[str]]:
    """Validated, JSON-encoded sets and validated deletes; a key both set and deleted is refused."""
    encoded = {
        validation.state_key(k): validation.json_value(v, f"state[{k!r}]", MAX_STATE_VALUE_BYTES)
        for k, v in entries.items()
    }
    deleted = [validation.state_key(k) for k in dict.fromkeys(delete_keys)]
    both = set(encoded) & set(deleted)
    if both:
        raise InvalidArgument(f"keys both set and deleted: {sorted(both)}", field="delete_keys")
    return encoded, deleted


def changed_payload(encoded: dict[str, bytes], deleted: list[str]) -> dict[str, Any]:
    """The payload of the state.changed event that records a write."""
    return {"set": {k: orjson.loads(v) for k, v in encoded.items()}, "deleted": deleted}


def _entry_bytes(key: bytes, value: bytes) -> int:
    return len(key) + len(value)
