"""Session records as stored: their cache, their index entries, their expiry and the tenant counters.

Only the unit of work writes through this (it decides what changes); readers use ``load`` and
``counter``. Cached records are never changed in place: every write stores a new object. On a
shared store (other processes write it) nothing is cached: a record or counter read is always the
committed one, and a unit of work reads it after taking its lock.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from ..config import SessionManagerConfig
from ..model import Session, SessionState
from ..storage import Storage, WriteBatch, keys
from .codec import decode_session, encode_session, to_micros

TENANT_BYTES = "bytes"  # counter: logical bytes of the tenant's live artifacts
TENANT_STAGED = "staged"  # counter: logical bytes of the tenant's staged chunks (UploadChunks)
CounterKey = tuple[str, str]  # (tenant, counter name)


def state_counter(state: SessionState) -> str:
    return f"state.{int(state)}"


ACTIVE_COUNTER = state_counter(SessionState.ACTIVE)


class SessionRecords:
    """Reads and caches session records and tenant counters; builds their index writes."""

    def __init__(self, config: SessionManagerConfig, storage: Storage) -> None:
        self.storage = storage
        self._cache_size = 0 if storage.shared else config.session_cache_size
        self._cache_counters = not storage.shared
        self._cache: OrderedDict[bytes, Session] = OrderedDict()
        self._counters: dict[bytes, int] = {}
        self._lifetime = timedelta(seconds=config.session_timeout) if config.session_timeout else None
        self._idle = timedelta(seconds=config.idle_timeout) if config.idle_timeout else None

    # -- records ---------------------------------------------------------------------------------

    def load(self, skey: bytes) -> Session | None:
        """The current record under a session key (cached), or None."""
        session = self._cache.get(skey)
        if session is None:
            data = self.storage.get("sessions", skey)
            if data is None:
                return None
            session = decode_session(data)
            self.remember(skey, session)
        return session

    def load_many(self, skeys: list[bytes]) -> list[Session | None]:
        """Records for many keys, one multi_get for those not cached."""
        missing = [k for k in skeys if k not in self._cache]
        loaded = dict(zip(missing, self.storage.multi_get("sessions", missing), strict=True)) if missing else {}
        found: list[Session | None] = []
        for skey in skeys:
            session = self._cache.get(skey)
            if session is None and loaded.get(skey) is not None:
                session = decode_session(loaded[skey])  # type: ignore[arg-type]
            found.append(session)
        return found

    def remember(self, skey: bytes, session: Session) -> None:
        if self._cache_size == 0:
            return
        self._cache[skey] = session
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def forget(self, skey: bytes) -> None:
        self._cache.pop(skey, None)

    # -- counters --------------------------------------------------------------------------------

    def counter(self, tenant: str, name: str) -> int:
        ckey = keys.counter_key(tenant, name)
        value = self._counters.get(ckey)
        if value is None:
            raw = self.storage.get("session_index", ckey)
            value = int(raw) if raw else 0
            if self._cache_counters:
                self._counters[ckey] = value
        return value

    def lock_counters(self, changed: Iterable[CounterKey]) -> None:
        """Locks the counters a unit of work changes (both byte counters when either changes: the
        quota adds them up) before they are read for it."""
        rows: set[tuple[str, bytes]] = set()
        for tenant, name in changed:
            names = (TENANT_BYTES, TENANT_STAGED) if name in (TENANT_BYTES, TENANT_STAGED) else (name,)
            rows.update(("session_index", keys.counter_key(tenant, n)) for n in names)
        self.storage.lock(rows)

    def tenant_usage(self, tenant: str, pending: Mapping[CounterKey, int] | None = None) -> int:
        """The tenant's bytes as max_tenant_bytes counts them: live artifacts plus staged chunks
        (``pending``: counter values a unit of work is about to write, in place of the stored ones)."""
        pending = pending or {}
        return sum(pending.get((tenant, name), self.counter(tenant, name)) for name in (TENANT_BYTES, TENANT_STAGED))

    def put_counters(self, batch: WriteBatch, values: dict[CounterKey, int]) -> None:
        for (tenant, name), value in values.items():
            batch.put("session_index", keys.counter_key(tenant, name), str(value).encode())

    def counters_written(self, values: dict[CounterKey, int]) -> None:
        if self._cache_counters:
            for (tenant, name), value in values.items():
                self._counters[keys.counter_key(tenant, name)] = value

    # -- what a write changes ----------------------------------------------------------------------

    def expiry(self, session: Session, time: datetime) -> datetime | None:
        """When an ACTIVE session's idle or lifetime timeout falls due after a write at time."""
        if session.state != SessionState.ACTIVE:
            return None
        idle = time + self._idle if self._idle is not None else None
        if self._lifetime is None or session.active_since is None:
            return idle
        lifetime = session.active_since + self._lifetime
        return lifetime if idle is None or lifetime < idle else idle

    def put(
        self, batch: WriteBatch, tenant: str, skey: bytes, before: Session | None, after: Session
    ) -> dict[str, int]:
        """Adds the record and its index entries; returns the tenant counter deltas it implies."""
        batch.put("sessions", skey, encode_session(after))
        _index_changes(batch, tenant, skey, before, after)
        deltas: dict[str, int] = {}
        grown = after.artifact_bytes - (before.artifact_bytes if before else 0)
        if grown:
            deltas[TENANT_BYTES] = grown
        if before is None or before.state != after.state:
            if before is not None:
                deltas[state_counter(before.state)] = -1
            deltas[state_counter(after.state)] = deltas.get(state_counter(after.state), 0) + 1
        return deltas

    def delete(self, batch: WriteBatch, tenant: str, skey: bytes, session: Session) -> dict[str, int]:
        """Adds the removal of a record, its index entries, state, events and checkpoints."""
        batch.delete("sessions", skey)
        for key in index_keys(tenant, skey, session):
            batch.delete("session_index", key)
        batch.delete_prefix("state", keys.state_prefix(skey))
        batch.delete_prefix("events", skey)
        batch.delete_prefix("checkpoints", skey)
        deltas = {state_counter(session.state): -1}
        if session.artifact_bytes:
            deltas[TENANT_BYTES] = -session.artifact_bytes
        return deltas


def index_keys(tenant: str, skey: bytes, s: Session) -> Iterable[bytes]:
    """The session_index keys a session record implies: create, update, name, parent, expiry."""
    sid, created = s.session_id, to_micros(s.create_time)
    yield keys.create_index_key(tenant, created, sid)
    yield keys.update_index_key(tenant, to_micros(s.update_time), sid)
    yield keys.name_index_key(tenant, s.name, sid)
    if s.parent_session_id:
        yield keys.parent_index_key(tenant, s.parent_session_id, created, sid)
    if s.expire_time is not None:
        yield keys.expiry_key(to_micros(s.expire_time), skey)


def _index_changes(batch: WriteBatch, tenant: str, skey: bytes, before: Session | None, after: Session) -> None:
    """The index writes for before -> after, touching only the entries that changed (the hot path:
    most writes change the update time and nothing else)."""
    if before is None:
        for key in index_keys(tenant, skey, after):
            batch.put("session_index", key, b"")
        return
    sid = after.session_id
    if before.update_time != after.update_time:
        batch.delete("session_index", keys.update_index_key(tenant, to_micros(before.update_time), sid))
        batch.put("session_index", keys.update_index_key(tenant, to_micros(after.update_time), sid), b"")
    if before.name != after.name:
        batch.delete("session_index", keys.name_index_key(tenant, before.name, sid))
        batch.put("session_index", keys.name_index_key(tenant, after.name, sid), b"")
    if before.expire_time != after.expire_time:
        if before.expire_time is not None:
            batch.delete("session_index", keys.expiry_key(to_micros(before.expire_time), skey))
        if after.expire_time is not None:
            batch.put("session_index", keys.expiry_key(to_micros(after.expire_time), skey), b"")
