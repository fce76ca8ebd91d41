"""Live subscriptions: history after a seq, then live events, in order, without gaps or duplicates.

A subscription holds no events: it keeps a cursor (the next seq it owes its reader) and the highest
seq committed since it last looked, and every poll reads the log from the cursor in pages bounded
by EVENT_PAGE_BYTES. The log always holds every notified event (commits write before they notify),
so there is nothing to drop, nothing to reorder, and memory per stream stays small whatever the log
size or the reader's speed. Before every page the caller's access is checked again: a revoke (or a
delete) ends the stream at once, and never delivers what was written after it.

Commits of other server processes sharing the store wake subscriptions through the store's notices
(Storage.watch; PostgreSQL's LISTEN/NOTIFY): the notice only says which session changed, the log
stays the truth, so a lost or repeated notice costs a read, never an event.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ...errors import InvalidArgument, LlmspellError, SessionNotFound
from ...model import Caller, Event, Session
from ...storage.base import EVERYTHING
from ..admission import READ
from ..limits import EVENT_PAGE_BYTES
from ..unit_of_work import Units
from .log import EventLog, matches, type_prefixes

READ_BATCH = 256
Waker = Callable[[], None]
Guard = Callable[[], None]


@dataclass(slots=True)
class Delivery:
    """What one poll returned: events in order, and whether the stream has ended (session deleted)."""

    events: list[Event] = field(default_factory=list)
    ended: bool = False


class EventSubscription:
    """One reader's position in one session's log. ``poll`` never blocks; iterate (blocking) or set
    a waker (asyncio) to wait for more."""

    def __init__(
        self, log: EventLog, skey: bytes, session_id: str, after_seq: int, prefixes: tuple[str, ...], guard: Guard
    ) -> None:
        self._log, self._skey, self.session_id = log, skey, session_id
        self._prefixes = prefixes
        self._guard = guard
        self.cursor = after_seq + 1
        self._ended = False
        self._signal = threading.Event()
        self._waker: Waker = self._signal.set
        self.on_close: Callable[[EventSubscription], None] = lambda sub: None

    # -- the writer side (commit path, any thread) ------------------------------------------------

    def notify(self) -> None:
        self._wake()

    def end(self) -> None:
        """The session is gone: the stream ends after what was already delivered."""
        self._ended = True
        self._wake()

    def _wake(self) -> None:
        try:
            self._waker()
        except RuntimeError:  # the reader's event loop is closed: nobody is waiting any more
            pass

    # -- the reader side ---------------------------------------------------------------------

    def set_waker(self, waker: Waker) -> None:
        """Called (from any thread) when events may be ready; asyncio readers use call_soon_threadsafe."""
        self._waker = waker

    def poll(self, limit: int = READ_BATCH) -> Delivery:
        """Events that follow the cursor (matching the types filter); empty when nothing is ready."""
        while True:
            if self._ended:
                return Delivery([], True)
            try:
                self._guard()
            except SessionNotFound:  # deleted: the listener's end() is on its way
                return Delivery([], True)
            batch, full = self._read(limit)
            if batch:
                self.cursor = batch[-1].seq + 1
            wanted = [e for e in batch if matches(e.type, self._prefixes)]
            if wanted or not full:
                return Delivery(wanted, False)

    def _read(self, limit: int) -> tuple[list[Event], bool]:
        """Up to limit events (or EVENT_PAGE_BYTES) from the cursor; True when the page was cut."""
        events: list[Event] = []
        budget = EVENT_PAGE_BYTES
        for event, size in self._log.read_sized(self._skey, self.session_id, self.cursor):
            if len(events) == limit or (events and size > budget):
                return events, True
            if event.type in _ACCESS_CHANGES and event.payload.get("subject"):
                try:
                    self._guard()  # a revoke committed since the last check: nothing after it
                except LlmspellError:
                    if events:
                        return events, False
                    raise
            events.append(event)
            budget -= size
        return events, False

    def __iter__(self) -> Iterator[Event]:
        """Blocks for each next event until the session is deleted or close() is called."""
        while True:
            self._signal.clear()
            delivery = self.poll()
            yield from delivery.events
            if delivery.ended:
                return
            if not delivery.events:
                self._signal.wait()

    def close(self) -> None:
        """Stops receiving live events (idempotent)."""
        self.on_close(self)
        self.end()


_ACCESS_CHANGES = frozenset({"session.access_revoked", "session.access_granted"})


class Subscriptions:
    """SubscribeEvents: one commit listener that wakes every subscription of a session."""

    def __init__(self, units: Units, log: EventLog) -> None:
        self._units = units
        self._log = log
        self._subscriptions: dict[tuple[str, str], set[EventSubscription]] = {}
        self._lock = threading.Lock()
        units.storage.watch(self._elsewhere)

    def subscribe(self, c: Caller, session_id: str, after_seq: int, types: Iterable[str]) -> EventSubscription:
        """A subscription to the session's events after after_seq: its history, then live events."""
        prefixes = type_prefixes(types)
        if after_seq < 0:
            raise InvalidArgument("after_seq must not be negative", field="after_seq")
        units = self._units

        def guard() -> None:
            units.read_session(c, session_id, READ)

        with units.transaction():  # no delete of this process's between the check and the registration
            skey, _ = units.read_session(c, session_id, READ)
            subscription = EventSubscription(self._log, skey, session_id, after_seq, prefixes, guard)
            key = (c.tenant, session_id)
            with self._lock:
                self._subscriptions.setdefault(key, set()).add(subscription)
            subscription.on_close = lambda sub: self._unsubscribe(key, sub)
        return subscription

    def _unsubscribe(self, key: tuple[str, str], subscription: EventSubscription) -> None:
        with self._lock:
            subscribers = self._subscriptions.get(key)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscriptions[key]

    # -- CommitListener ---------------------------------------------------------------------------

    def committed(self, tenant: str, skey: bytes, session: Session, event: Event) -> None:
        key = (tenant, event.session_id)
        if key not in self._subscriptions:  # the common case costs one dict lookup
            return
        with self._lock:
            subscribers = tuple(self._subscriptions.get(key, ()))
        for subscription in subscribers:
            subscription.notify()

    def _elsewhere(self, notice: str) -> None:
        """Another process committed to a session ("tenant session_id"), or perhaps to any."""
        with self._lock:
            if notice == EVERYTHING:
                woken = [s for subscribers in self._subscriptions.values() for s in subscribers]
            else:
                tenant, _, session_id = notice.partition(" ")
                woken = list(self._subscriptions.get((tenant, session_id), ()))
        for subscription in woken:
            subscription.notify()

    def deleted(self, tenant: str, session_id: str) -> None:
        with self._lock:
            subscribers = self._subscriptions.pop((tenant, session_id), set())
        for subscription in subscribers:
            subscription.end()
