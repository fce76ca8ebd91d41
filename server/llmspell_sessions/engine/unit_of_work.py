"""The unit of work: read, check, write one batch — the only way anything is written.

``Units.begin(caller)`` opens one inside a storage transaction (see storage/base.py): on the
embedded store that is one process-wide lock, on a shared store (PostgreSQL) row locks, so several
server processes keep the same rules. Whatever a unit reads to decide a write is read after the
lock on its row: the session (``session``), a request id (``lock_row``), chunks
(``lock_chunks``) and, at commit, the tenant counters it changes. So per-session seqs stay gapless,
etags exclusive, request ids idempotent and quotas exact whichever process commits.

Operations add to it (session records with their events, state and artifact writes, chunk
references, counters), and ``commit`` then, in this order: folds the chunk references into final
counts (once per digest, so two changes of one chunk in one write cannot overwrite each other),
checks every quota against the counters as they would be, writes the batch atomically and updates
the caches. Hooks and listeners are told once the transaction has committed. Leaving the block
without commit writes nothing.

Readers that need no lock use ``Units.read_session``: the same access check and timeouts.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Protocol

from ..cas import ContentStore
from ..config import SessionManagerConfig
from ..errors import SessionNotFound
from ..model import Caller, Event, EventSpec, Session, SessionState
from ..storage import Storage, WriteBatch, keys
from ..storage.base import Row
from ..tracing import span
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

    def __init__(self, units: Units, caller: Caller, dry_run: bool = False) -> None:
        self._units = units
        self.caller = caller
        self.dry_run = dry_run
        """Make every check and write nothing: commit() returns before the write (bulk dry runs)."""
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
        """(key, record) of a session the caller may access this way, due timeouts applied; locked
        until the unit ends, so the record read is the one this unit's write follows."""
        skey = keys.session_key(self.caller.tenant, validation.session_id(session_id, field))
        self._units.storage.lock((("sessions", skey),))
        return skey, self._units.read_record(self.caller, skey, session_id, access)

    def lock_row(self, row: Row) -> None:
        """Locks a row (a request id, an upload's progress) before reading it to decide a write: of
        two concurrent retries of a request, one runs it and the other finds its result."""
        self._units.storage.lock((row,))

    def lock_chunks(self, digests: Sequence[bytes]) -> None:
        """Locks chunk rows before reading their records, counts or staging (GC takes the same)."""
        self._units.storage.lock(("chunks", d) for d in digests)

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
        if actor != SYSTEM_ACTOR and not self.dry_run:  # a dry run mutates nothing: no rate token
            units.admission.mutation(caller, skey, after.session_id)
        contexts: list[HookContext | None] = [None] * len(specs)
        if units.hooks.active:
            contexts = [
                HookContext(operation, caller, after.session_id, s.type, s.payload, self.dry_run) for s in specs
            ]
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

    def restore(self, skey: bytes, session: Session, events: Sequence[Event]) -> None:
        """Adds a session as an archive holds it (import): its record and whole log, verbatim. Quotas
        and counters as for any new record; no hooks or listeners: nothing happened to it now."""
        for event in events:
            self.batch.put("events", keys.event_key(skey, event.seq), encode_event(event))
        self._units.admission.check_session(None, session)
        tenant = self.caller.tenant
        for name, delta in self._units.records.put(self.batch, tenant, skey, None, session).items():
            self.count(tenant, name, delta)
        self._pending[skey] = session
        self._written.append(_Written(tenant, skey, session, session.session_id))

    def delete(self, skey: bytes, session: Session, *, operation: str) -> None:
        """Adds the deletion of a session record with its state, events and checkpoints."""
        context = HookContext(operation, self.caller, session.session_id, "", {}, self.dry_run)
        self._units.hooks.before(context)
        for name, delta in self._units.records.delete(self.batch, self.caller.tenant, skey, session).items():
            self.count(self.caller.tenant, name, delta)
        self._written.append(_Written(self.caller.tenant, skey, None, session.session_id, [], [context]))

    # -- commit -------------------------------------------------------------------------------------

    def commit(self) -> None:
        """Writes everything added, atomically, after the quota checks; then notifies."""
        if self.dry_run:
            # Every check up to here was made (access, state machine, before-hooks, session quotas);
            # the bulk actions that dry-run only shrink tenant counters, so no tenant quota is left.
            return
        units = self._units
        with span("storage.commit", tenant=self.caller.tenant, sessions=len(self._written), sync=self._sync):
            values = self._write()
        self.committed = True
        units.records.counters_written(values)
        for written in self._written:
            if written.session is None:
                units.records.forget(written.skey)
            else:
                units.records.remember(written.skey, written.session)
        units.committed(self._written)

    def _write(self) -> dict[CounterKey, int]:
        """References, counters (checked) and the batch, in one storage write; the new counter values."""
        units = self._units
        for tenant, delta in self._references.items():
            units.content.reference_writes(self.batch, tenant, delta, to_micros(self.time))
        changed = [ckey for ckey, delta in self._counters.items() if delta]
        if changed:
            units.records.lock_counters(changed)
        values = {ckey: units.records.counter(*ckey) + self._counters[ckey] for ckey in changed}
        if values:
            self._check_growth(values)
            units.records.put_counters(self.batch, values)
        if units.storage.shared:
            for written in self._written:  # wakes other servers' subscriptions once committed
                self.batch.notice(f"{written.tenant} {written.session_id}")
        units.storage.write(self.batch, sync=self._sync)
        return values

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
    """The context of one unit of work: a storage transaction from enter to exit (joined by units
    begun inside it); what its units committed is published when the outermost one ends."""

    __slots__ = ("_units", "_caller", "_dry_run", "_transaction")

    def __init__(self, units: Units, caller: Caller, dry_run: bool = False) -> None:
        self._units, self._caller, self._dry_run = units, caller, dry_run
        self._transaction = units.storage.transaction()

    def __enter__(self) -> UnitOfWork:
        self._transaction.__enter__()
        depth = self._units._depth
        depth.value = getattr(depth, "value", 0) + 1
        if depth.value == 1:
            depth.written = []
        return UnitOfWork(self._units, self._caller, self._dry_run)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        units, depth = self._units, self._units._depth
        depth.value -= 1
        if depth.value:
            self._transaction.__exit__(exc_type, exc, tb)
            return
        written = depth.written
        if units.storage.shared:
            self._transaction.__exit__(exc_type, exc, tb)  # commits: only then is anything visible to others
            units.publish(written)
        else:
            try:  # visible since written: publish under the lock, so hooks see commits in order
                units.publish(written)
            finally:
                self._transaction.__exit__(exc_type, exc, tb)


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
        self._depth = threading.local()  # per thread: units begun and not ended, what they committed
        self.listeners: list[CommitListener] = []

    def begin(self, caller: Caller, *, dry_run: bool = False) -> _Begun:
        """A unit of work under the lock (``with units.begin(caller) as uow``); commit() inside the
        block or nothing is written (with dry_run, nothing is written either way)."""
        return _Begun(self, caller, dry_run)

    def read_session(
        self, caller: Caller, session_id: str, access: str, field: str = "session_id"
    ) -> tuple[bytes, Session]:
        """(key, record) of a session of the caller's tenant that the caller may access this way,
        after applying a timeout that fell due (timeouts are enforced on access)."""
        skey = keys.session_key(caller.tenant, validation.session_id(session_id, field))
        return skey, self.read_record(caller, skey, session_id, access)

    def read_record(self, caller: Caller, skey: bytes, session_id: str, access: str) -> Session:
        """read_session for a validated id and its key."""
        session = self.records.load(skey)
        if session is None:
            raise SessionNotFound(f"session {session_id} not found", session_id=session_id)
        self.admission.authorize(caller, session, access)
        if session.expire_time is not None and session.expire_time <= now():
            session = self.apply_timeout(caller.tenant, skey, caller.correlation_id) or session
        return session

    def apply_timeout(self, tenant: str, skey: bytes, correlation_id: str = "") -> Session | None:
        """Fails (lifetime) or suspends (idle) an ACTIVE session whose deadline passed; None if not due."""
        system = system_caller(tenant, correlation_id)
        with self.begin(system) as uow:
            self.storage.lock((("sessions", skey),))  # another process may be writing it, or timing it out
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

    def transaction(self) -> AbstractContextManager[object]:
        """A storage transaction for work that is not a unit of work (a subscription registering)."""
        return self.storage.transaction()

    def committed(self, written: list[_Written]) -> None:
        """Keeps what a unit wrote until its transaction ends (see _Begun)."""
        self._depth.written.extend(written)

    def publish(self, written: list[_Written]) -> None:
        """After-hooks and listeners for committed session writes."""
        for item in written:
            if item.session is None:
                for listener in self.listeners:
                    listener.deleted(item.tenant, item.session_id)
                for context in item.contexts:
                    if context is not None:
                        self.hooks.after(context, None)
                continue
            for event, context in zip(item.events, item.contexts, strict=True):
                if context is not None:
                    self.hooks.after(context, event)
                for listener in self.listeners:
                    listener.committed(item.tenant, item.skey, item.session, event)


__all__ = ["CommitListener", "UnitOfWork", "Units"]
