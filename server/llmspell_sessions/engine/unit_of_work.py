"""The unit of work: read, check, write one batch — the only way anything is written.

``Units.begin(caller)`` opens one: it holds the engine's lock (RocksDB: one writer at a time;
a transactional backend would hold a transaction instead) from the first read to the write, so
per-session seqs stay gapless and read-modify-writes cannot interleave. Operations add to it
(session records with their events, state and artifact writes, chunk references, counters), and
``commit`` then, in this order: folds the chunk references into final counts (once per digest, so
two changes of one chunk in one write cannot overwrite each other), checks every quota against
the counters as they would be, writes the batch atomically, updates the caches, and tells the
hooks and listeners. Leaving the block without commit writes nothing.

Readers that need no lock use ``Units.read_session``: the same access check and timeouts.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from ..cas import ContentStore
from ..config import SessionManagerConfig
from ..errors import SessionNotFound
from ..model import Caller, Event, EventSpec, Session, SessionState
from ..storage import Storage, WriteBatch, keys
from . import validation
from .admission import SYSTEM_ACTOR, Admission, Growth, system_caller
from .codec import clone_session, encode_event, now, to_micros
from .hooks import HookContext, HookRunner
from .ids import local_id
from .records import ACTIVE_COUNTER, TENANT_BYTES, TENANT_STAGED, CounterKey, SessionRecords


class CommitListener(Protocol):
    """Told about every committed event and every deleted session (subscriptions, checkpoints)."""

    def committed(self, tenant: str, skey: bytes, session: Session, event: Event) -> None: ...

    def deleted(self, tenant: str, session_id: str) -> None: ...


@dataclass(slots=True)
class _Written:
    """A session write of this unit, kept for after the commit."""

    tenant: str
    skey: bytes
    session: Session | None  # None: deleted
    session_id: str
    events: list[Event] = field(default_factory=list)
    contexts: list[HookContext | None] = field(default_factory=list)


class UnitOfWork:
    """One operation's writes, committed all at once (see the module docstring)."""

    def __init__(self, units: Units, caller: Caller) -> None:
        self._units = units
        self.caller = caller
        self.batch = WriteBatch()
        self.time = now()
        self._references: dict[str, Counter[bytes]] = {}
        self._counters: dict[CounterKey, int] = {}
        self._written: list[_Written] = []
        self._pending: dict[bytes, Session] = {}  # records written by this unit, by key
        self._sync = False
        self.committed = False

    # -- reads --------------------------------------------------------------------------------------

    def session(self, session_id: str, access: str, field: str = "session_id") -> tuple[bytes, Session]:
        """(key, record) of a session the caller may access this way, due timeouts applied."""
        return self._units.read_session(self.caller, session_id, access, field)

    # -- what to write ------------------------------------------------------------------------------

    def take(self, tenant: str, occurrences: Counter[bytes]) -> None:
        """Takes one chunk reference of a tenant per occurrence."""
        total = self._references.setdefault(tenant, Counter())
        for digest, n in occurrences.items():
            total[digest] += n

    def drop(self, tenant: str, occurrences: Counter[bytes]) -> None:
        """Drops one chunk reference of a tenant per occurrence."""
        total = self._references.setdefault(tenant, Counter())
        for digest, n in occurrences.items():
            total[digest] -= n

    def count(self, tenant: str, name: str, delta: int) -> None:
        """Changes a tenant counter (checked against quotas when it grows)."""
        key = (tenant, name)
        self._counters[key] = self._counters.get(key, 0) + delta

    def sync_on_commit(self) -> None:
        self._sync = True

    def record(
        self,
        skey: bytes,
        before: Session | None,
        after: Session,
        specs: Sequence[EventSpec],
        *,
        operation: str,
        actor: str = "",
        time: datetime | None = None,
    ) -> list[Event]:
        """Appends events (seqs following before's) and the new record to this unit.

        ``after`` is a new object (records are never changed in place); ``time`` is the
        operation's own clock reading when it stamped fields of ``after``. Before-hooks run here
        (a veto writes nothing), after-hooks and listeners once committed.
        """
        units, caller = self._units, self.caller
        tenant = caller.tenant
        actor = actor or caller.subject
        if actor != SYSTEM_ACTOR:
            units.admission.mutation(caller, skey, after.session_id)
        contexts: list[HookContext | None] = [None] * len(specs)
        if units.hooks.active:
            contexts = [HookContext(operation, caller, after.session_id, s.type, s.payload) for s in specs]
            for context in contexts:
                units.hooks.before(context)  # type: ignore[arg-type]
        time = time or self.time
        previous = self._pending.get(skey, before)
        seq = previous.last_event_seq if previous else 0
        correlation = caller.correlation_id or local_id()
        events = []
        for spec in specs:
            seq += 1
            event = Event(
                after.session_id,
                seq,
                spec.type,
                time,
                actor,
                spec.correlation_id or correlation,
                spec.causation_id,
                spec.payload,
            )
            self.batch.put("events", keys.event_key(skey, seq), encode_event(event))
            events.append(event)
        after.last_event_seq = seq
        after.update_time = time
        after.expire_time = units.records.expiry(after, time)
        units.admission.check_session(before, after)
        for name, delta in units.records.put(self.batch, tenant, skey, previous, after).items():
            self.count(tenant, name, delta)
        self._pending[skey] = after
        self._written.append(_Written(tenant, skey, after, after.session_id, events, contexts))
        return events

    def delete(self, skey: bytes, session: Session, *, operation: str) -> None:
        """Adds the deletion of a session record with its state, events and checkpoints."""
        context = HookContext(operation, self.caller, session.session_id, "", {})
        self._units.hooks.before(context)
        for name, delta in self._units.records.delete(self.batch, self.caller.tenant, skey, session).items():
            self.count(self.caller.tenant, name, delta)
        self._written.append(_Written(self.caller.tenant, skey, None, session.session_id, [], [context]))

    # -- commit -------------------------------------------------------------------------------------

    def commit(self) -> None:
        """Writes everything added, atomically, after the quota checks; then notifies."""
        units = self._units
        for tenant, delta in self._references.items():
            units.content.reference_writes(self.batch, tenant, delta, to_micros(self.time))
        values = {ckey: units.records.counter(*ckey) + delta for ckey, delta in self._counters.items() if delta}
        if values:
            self._check_growth(values)
            units.records.put_counters(self.batch, values)
        units.storage.write(self.batch, sync=self._sync)
        self.committed = True
        units.records.counters_written(values)
        for written in self._written:
            if written.session is None:
                units.records.forget(written.skey)
            else:
                units.records.remember(written.skey, written.session)
        for written in self._written:
            units.publish(written)

    def _check_growth(self, values: dict[CounterKey, int]) -> None:
        grew = self._counters.get
        for tenant in {tenant for tenant, _ in values}:
            growth = Growth(tenant)
            if grew((tenant, ACTIVE_COUNTER), 0) > 0:
                growth.active_sessions = values[(tenant, ACTIVE_COUNTER)]
            if grew((tenant, TENANT_BYTES), 0) > 0 or grew((tenant, TENANT_STAGED), 0) > 0:
                growth.tenant_bytes = self._units.records.tenant_usage(tenant, values)
            self._units.admission.check_growth(growth)


class _Begun:
    """The context of one unit of work: the engine lock held from enter to exit."""

    __slots__ = ("_units", "_caller")

    def __init__(self, units: Units, caller: Caller) -> None:
        self._units, self._caller = units, caller

    def __enter__(self) -> UnitOfWork:
        self._units.lock.acquire()
        return UnitOfWork(self._units, self._caller)

    def __exit__(self, *exc: object) -> None:
        self._units.lock.release()


class Units:
    """Opens units of work and reads sessions for operations; owns the engine's lock."""

    def __init__(
        self,
        config: SessionManagerConfig,
        storage: Storage,
        records: SessionRecords,
        content: ContentStore,
        admission: Admission,
        hooks: HookRunner,
    ) -> None:
        self.config = config
        self.storage = storage
        self.records = records
        self.content = content
        self.admission = admission
        self.hooks = hooks
        self.lock = threading.RLock()
        self.listeners: list[CommitListener] = []

    def begin(self, caller: Caller) -> _Begun:
        """A unit of work under the lock (``with units.begin(caller) as uow``); commit() inside the
        block or nothing is written."""
        return _Begun(self, caller)

    def read_session(
        self, caller: Caller, session_id: str, access: str, field: str = "session_id"
    ) -> tuple[bytes, Session]:
        """(key, record) of a session of the caller's tenant that the caller may access this way,
        after applying a timeout that fell due (timeouts are enforced on access)."""
        validation.session_id(session_id, field)
        skey = keys.session_key(caller.tenant, session_id)
        session = self.records.load(skey)
        if session is None:
            raise SessionNotFound(f"session {session_id} not found", session_id=session_id)
        self.admission.authorize(caller, session, access)
        if session.expire_time is not None and session.expire_time <= now():
            session = self.apply_timeout(caller.tenant, skey, caller.correlation_id) or session
        return skey, session

    def apply_timeout(self, tenant: str, skey: bytes, correlation_id: str = "") -> Session | None:
        """Fails (lifetime) or suspends (idle) an ACTIVE session whose deadline passed; None if not due."""
        system = system_caller(tenant, correlation_id)
        with self.begin(system) as uow:
            session = self.records.load(skey)
            time = uow.time
            if session is None or session.state != SessionState.ACTIVE:
                return None
            if session.expire_time is None or session.expire_time > time:
                return None
            after = clone_session(session)
            lifetime = self.config.session_timeout
            if lifetime and session.active_since and session.active_since + timedelta(seconds=lifetime) <= time:
                after.state, after.end_time, after.failure_reason = SessionState.FAILED, time, "timeout"
                event_type, reason = "session.failed", "timeout"
            else:
                after.state = SessionState.SUSPENDED
                event_type, reason = "session.suspended", "idle_timeout"
            payload = {"from_state": session.state.name, "to_state": after.state.name, "reason": reason}
            uow.record(skey, session, after, [EventSpec(event_type, payload)], operation="timeout", actor=SYSTEM_ACTOR)
            uow.commit()
            return after

    def publish(self, written: _Written) -> None:
        """After-hooks and listeners for one committed session write."""
        if written.session is None:
            for listener in self.listeners:
                listener.deleted(written.tenant, written.session_id)
            for context in written.contexts:
                if context is not None:
                    self.hooks.after(context, None)
            return
        for event, context in zip(written.events, written.contexts, strict=True):
            if context is not None:
                self.hooks.after(context, event)
            for listener in self.listeners:
                listener.committed(written.tenant, written.skey, written.session, event)


__all__ = ["CommitListener", "UnitOfWork", "Units"]
