"""EngineCore: the session records, their cache, and the one commit path every mutation takes.

Every mutation of a session goes through ``commit``: it appends exactly one event, rewrites the
session record and its index entries, and writes all of it (plus whatever the operation added to the
batch) in one atomic WriteBatch. Operations hold ``lock`` from their read to their commit, so the
per-session seq stays gapless and read-modify-writes cannot interleave.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from ..config import SessionManagerConfig
from ..errors import AccessDenied, EtagMismatch, SessionNotFound
from ..model import Caller, Event, EventSpec, Role, Session, SessionState
from ..storage import Storage, WriteBatch, build_storage
from . import keys, validation
from .codec import clone_session, decode_session, encode_event, encode_session, now, to_micros
from .hooks import HookContext, HookRunner
from .ids import local_id
from .policies import RateLimiter

EventListener = Callable[[str, Event], None]


SYSTEM_ACTOR = "system"
TENANT_BYTES = "bytes"  # counter: logical bytes of the tenant's live artifacts


class EngineCore:
    """Shared machinery of the SessionManager: storage, cache, counters, commit, hooks, listeners."""

    def __init__(
        self, config: SessionManagerConfig, storage: Storage | None = None, hooks: HookRunner | None = None
    ) -> None:
        self.config = config.validate()
        self.storage: Storage = storage if storage is not None else build_storage(config)
        self.hooks = hooks or HookRunner()
        self.lock = threading.RLock()
        self.listeners: list[EventListener] = []
        self._cache: OrderedDict[bytes, Session] = OrderedDict()
        self._counters: dict[bytes, int] = {}
        self._loaded: set[bytes] = set()  # sessions this process has loaded (see load_session)
        self._lifetime = timedelta(seconds=config.session_timeout) if config.session_timeout else None
        self._idle = timedelta(seconds=config.idle_timeout) if config.idle_timeout else None
        self.tenant_rate = RateLimiter(config.rate_limit_global, "rate_limit_global")
        self.session_rate = RateLimiter(config.rate_limit_per_session, "rate_limit_per_session")

    # -- callers and permissions -------------------------------------------------------------

    def require(self, caller: Caller, role: Role) -> None:
        """Every public operation starts here: the caller's role, then the tenant's request rate."""
        if caller.role < role:
            raise AccessDenied(f"{role.name.lower()} role required", subject=caller.subject, role=caller.role.name)
        if caller.subject != SYSTEM_ACTOR:
            self.tenant_rate.take(caller.tenant, tenant=caller.tenant)

    # -- reading sessions ----------------------------------------------------------------------

    def fetch(self, caller: Caller, session_id: str, field: str = "session_id") -> tuple[bytes, Session]:
        """(key, record) of a session the caller's tenant holds, or SessionNotFound."""
        validation.session_id(session_id, field)
        skey = keys.session_key(caller.tenant, session_id)
        session = self._cache.get(skey)
        if session is None:
            data = self.storage.get("sessions", skey)
            if data is None:
                raise SessionNotFound(f"session {session_id} not found", session_id=session_id)
            session = decode_session(data)
            self._remember(skey, session)
        self.authorize(caller, skey, session, write=False)
        return skey, session

    def authorize(self, caller: Caller, skey: bytes, session: Session, *, write: bool) -> None:
        """Admins, the owner and subjects granted access pass; a denial is audited in the session's log."""
        if caller.role == Role.ADMIN or caller.subject == session.created_by:
            return
        granted = session.grants.get(caller.subject)
        if granted == "write" or (granted == "read" and not write):
            return
        needed = "write" if write else "read"
        with self.lock:
            _, current = self.fetch(_system(caller), session.session_id)
            payload = {"subject": caller.subject, "access": needed}
            self.commit(
                _system(caller),
                skey,
                current,
                clone_session(current),
                "session.access_denied",
                payload,
                operation="audit",
                actor=SYSTEM_ACTOR,
            )
        raise AccessDenied(
            f"{caller.subject} may not {needed} session {session.session_id}",
            session_id=session.session_id,
            subject=caller.subject,
            access=needed,
        )

    def fetch_current(self, caller: Caller, session_id: str, field: str = "session_id") -> tuple[bytes, Session]:
        """Like fetch, after applying a timeout that is due (timeouts are enforced on access)."""
        skey, session = self.fetch(caller, session_id, field)
        if session.expire_time is not None and session.expire_time <= now():
            with self.lock:
                skey, session = self.fetch(caller, session_id, field)
                session = self.enforce_timeout(caller, skey, session) or session
        return skey, session

    def _remember(self, skey: bytes, session: Session) -> None:
        if self.config.session_cache_size == 0:
            return
        cache = self._cache
        cache[skey] = session
        if len(cache) > self.config.session_cache_size:
            cache.popitem(last=False)

    def forget(self, skey: bytes) -> None:
        self._cache.pop(skey, None)

    # -- concurrency checks ----------------------------------------------------------------------

    @staticmethod
    def check_etag(session: Session, etag: str) -> None:
        if etag and etag != session.etag:
            raise EtagMismatch(
                f"etag {etag!r} is stale (current {session.etag!r})",
                session_id=session.session_id,
                current_etag=session.etag,
            )

    # -- counters (persistent, per tenant) --------------------------------------------------------

    def counter(self, tenant: str, name: str) -> int:
        ckey = keys.counter_key(tenant, name)
        value = self._counters.get(ckey)
        if value is None:
            raw = self.storage.get("session_index", ckey)
            value = int(raw) if raw else 0
            self._counters[ckey] = value
        return value

    def active_sessions(self, tenant: str) -> int:
        return self.counter(tenant, f"state.{int(SessionState.ACTIVE)}")

    # -- the commit path ------------------------------------------------------------------------

    def commit(
        self,
        caller: Caller,
        skey: bytes,
        before: Session | None,
        after: Session,
        event_type: str,
        payload: dict,
        *,
        operation: str,
        batch: WriteBatch | None = None,
        sync: bool = False,
        actor: str | None = None,
        causation_id: str = "",
        correlation_id: str = "",
        time: datetime | None = None,
    ) -> Event:
        """Appends one event and writes the new session record with it, atomically (see commit_events)."""
        spec = EventSpec(event_type, payload, causation_id, correlation_id)
        return self.commit_events(
            caller, skey, before, after, [spec], operation=operation, batch=batch, sync=sync, actor=actor, time=time
        )[0]

    def commit_events(
        self,
        caller: Caller,
        skey: bytes,
        before: Session | None,
        after: Session,
        specs: Sequence[EventSpec],
        *,
        operation: str,
        batch: WriteBatch | None = None,
        sync: bool = False,
        actor: str | None = None,
        time: datetime | None = None,
    ) -> list[Event]:
        """Appends events (seqs following before's) and writes the new session record, atomically.

        Runs before-hooks first (a veto writes nothing) and after-hooks and listeners once written.
        ``after`` must be a new object: cached records are never changed in place. ``time`` is the
        operation's own clock reading when it stamped fields of ``after`` (history replays them from it).
        """
        tenant = caller.tenant
        if actor != SYSTEM_ACTOR:
            if before is not None:
                self.authorize(caller, skey, before, write=True)
            self.session_rate.take(skey, session_id=after.session_id)
        contexts: list[HookContext | None] = [None] * len(specs)
        if self.hooks.active:
            contexts = [HookContext(operation, caller, after.session_id, s.type, s.payload) for s in specs]
            for context in contexts:
                self.hooks.before(context)  # type: ignore[arg-type]
        time = time or now()
        seq = before.last_event_seq if before else 0
        default_correlation = caller.correlation_id or local_id()
        batch = batch if batch is not None else WriteBatch()
        events = []
        for spec in specs:
            seq += 1
            event = Event(
                after.session_id,
                seq,
                spec.type,
                time,
                actor or caller.subject,
                spec.correlation_id or default_correlation,
                spec.causation_id,
                spec.payload,
            )
            batch.put("events", keys.event_key(skey, seq), encode_event(event))
            events.append(event)
        after.last_event_seq = seq
        after.update_time = time
        after.expire_time = self._expiry(after, time)
        batch.put("sessions", skey, encode_session(after))
        counter_updates = self._index_changes(batch, tenant, skey, before, after)
        self.storage.write(batch, sync=sync)
        self._counters.update(counter_updates)
        self._remember(skey, after)
        for event, context in zip(events, contexts, strict=True):
            self.after_commit(caller, skey, after, event)
            self.notify(tenant, event, context)
        return events

    def after_commit(self, caller: Caller, skey: bytes, session: Session, event: Event) -> None:
        """Called under the lock after every committed event (automatic checkpoints hook in here)."""

    def notify(self, tenant: str, event: Event, hook_context: HookContext | None = None) -> None:
        if hook_context is not None:
            self.hooks.after(hook_context, event)
        for listener in self.listeners:
            listener(tenant, event)

    def _expiry(self, session: Session, time: datetime) -> datetime | None:
        if session.state != SessionState.ACTIVE:
            return None
        idle = time + self._idle if self._idle is not None else None
        if self._lifetime is None or session.active_since is None:
            return idle
        lifetime = session.active_since + self._lifetime
        return lifetime if idle is None or lifetime < idle else idle

    def _index_changes(
        self, batch: WriteBatch, tenant: str, skey: bytes, before: Session | None, after: Session
    ) -> dict[bytes, int]:
        """Adds index and counter writes for before -> after; returns the new counter values."""
        sid = after.session_id
        put, delete = batch.put, batch.delete
        if before is None:
            created = to_micros(after.create_time)
            put("session_index", keys.create_index_key(tenant, created, sid), b"")
            if after.parent_session_id:
                put("session_index", keys.parent_index_key(tenant, after.parent_session_id, created, sid), b"")
        else:
            delete("session_index", keys.update_index_key(tenant, to_micros(before.update_time), sid))
        put("session_index", keys.update_index_key(tenant, to_micros(after.update_time), sid), b"")
        if before is None or before.name != after.name:
            if before is not None:
                delete("session_index", keys.name_index_key(tenant, before.name, sid))
            put("session_index", keys.name_index_key(tenant, after.name, sid), b"")
        old_expiry = before.expire_time if before else None
        if old_expiry != after.expire_time:
            if old_expiry is not None:
                delete("session_index", keys.expiry_key(to_micros(old_expiry), skey))
            if after.expire_time is not None:
                put("session_index", keys.expiry_key(to_micros(after.expire_time), skey), b"")
        updates: dict[bytes, int] = {}
        grown = after.artifact_bytes - (before.artifact_bytes if before else 0)
        if grown:
            self._count(batch, updates, tenant, TENANT_BYTES, grown)
        if before is None or before.state != after.state:
            if before is not None:
                self._count(batch, updates, tenant, f"state.{int(before.state)}", -1)
            self._count(batch, updates, tenant, f"state.{int(after.state)}", +1)
        return updates

    def _count(self, batch: WriteBatch, updates: dict[bytes, int], tenant: str, name: str, delta: int) -> None:
        ckey = keys.counter_key(tenant, name)
        value = updates.get(ckey, self.counter(tenant, name)) + delta
        updates[ckey] = value
        batch.put("session_index", ckey, str(value).encode())

    def delete_session_records(self, batch: WriteBatch, tenant: str, skey: bytes, session: Session) -> dict[bytes, int]:
        """Adds the deletion of a session's record, index entries, state, events and checkpoints."""
        sid = session.session_id
        batch.delete("sessions", skey)
        batch.delete("session_index", keys.create_index_key(tenant, to_micros(session.create_time), sid))
        batch.delete("session_index", keys.update_index_key(tenant, to_micros(session.update_time), sid))
        batch.delete("session_index", keys.name_index_key(tenant, session.name, sid))
        if session.parent_session_id:
            batch.delete(
                "session_index",
                keys.parent_index_key(tenant, session.parent_session_id, to_micros(session.create_time), sid),
            )
        if session.expire_time is not None:
            batch.delete("session_index", keys.expiry_key(to_micros(session.expire_time), skey))
        batch.delete_prefix("state", keys.state_prefix(skey))
        batch.delete_prefix("events", skey)
        batch.delete_prefix("checkpoints", skey)
        updates: dict[bytes, int] = {}
        self._count(batch, updates, tenant, f"state.{int(session.state)}", -1)
        if session.artifact_bytes:
            self._count(batch, updates, tenant, TENANT_BYTES, -session.artifact_bytes)
        return updates

    def apply_counters(self, updates: dict[bytes, int]) -> None:
        self._counters.update(updates)

    # -- timeouts ----------------------------------------------------------------------------

    def enforce_timeout(self, caller: Caller, skey: bytes, session: Session) -> Session | None:
        """Fails (lifetime) or suspends (idle) an ACTIVE session whose deadline passed; None if not due."""
        time = now()
        if session.state != SessionState.ACTIVE or session.expire_time is None or session.expire_time > time:
            return None
        lifetime = self.config.session_timeout
        after = clone_session(session)
        if lifetime and session.active_since and session.active_since + timedelta(seconds=lifetime) <= time:
            after.state, after.end_time, after.failure_reason = SessionState.FAILED, time, "timeout"
            event_type, reason = "session.failed", "timeout"
        else:
            after.state = SessionState.SUSPENDED
            event_type, reason = "session.suspended", "idle_timeout"
        payload = {"from_state": session.state.name, "to_state": after.state.name, "reason": reason}
        self.commit(
            caller, skey, session, after, event_type, payload, operation="timeout", actor=SYSTEM_ACTOR, time=time
        )
        return after

    def sweep_timeouts(self) -> int:
        """Applies every due timeout in the store; returns how many sessions changed."""
        due: list[bytes] = []
        limit = keys.micros(to_micros(now()))
        for key, _ in self.storage.scan("session_index", keys.EXPIRY_PREFIX):
            if key[len(keys.EXPIRY_PREFIX) : len(keys.EXPIRY_PREFIX) + keys.TIME_BYTES] > limit:
                break
            due.append(key[len(keys.EXPIRY_PREFIX) + keys.TIME_BYTES :])
        changed = 0
        for skey in due:
            tenant, sid = keys.split_session_key(skey)
            system = Caller(tenant=tenant, subject=SYSTEM_ACTOR, role=Role.ADMIN)
            with self.lock:
                try:
                    _, session = self.fetch(system, sid)
                except SessionNotFound:
                    continue
                if self.enforce_timeout(system, skey, session) is not None:
                    changed += 1
        return changed


def _system(caller: Caller) -> Caller:
    """The engine acting on its own behalf within a caller's request (audit, timeouts)."""
    return Caller(tenant=caller.tenant, subject=SYSTEM_ACTOR, role=Role.ADMIN, correlation_id=caller.correlation_id)
