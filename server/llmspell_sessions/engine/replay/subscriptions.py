"""Live subscriptions: history after a seq, then live events, in order, without gaps or duplicates.

Each subscription keeps a cursor (the next seq it owes its reader) and a bounded queue that the
commit path fills through ``EngineCore.listeners``. Writers never wait for readers: when a queue is
full it is dropped and the subscription marked stale, and the reader catches up from the log, which
always holds every notified event (commits write before they notify). Seqs make the switch between
log and queue exact: anything below the cursor is a duplicate, anything above it a gap to read.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ...errors import InvalidArgument
from ...model import Caller, Event, Role, Session
from .log import LogOps, matches, type_prefixes

QUEUE_CAPACITY = 1024
READ_BATCH = 256
Waker = Callable[[], None]


@dataclass(slots=True)
class Delivery:
    """What one poll returned: events in order, and whether the stream has ended (session deleted)."""

    events: list[Event] = field(default_factory=list)
    ended: bool = False


class EventSubscription:
    """One reader's position in one session's log plus its queue of live events.

    ``poll`` never blocks; iterate (blocking) or set a waker (asyncio) to wait for more.
    """

    def __init__(self, ops: LogOps, skey: bytes, session_id: str, after_seq: int, prefixes: tuple[str, ...]) -> None:
        self._ops, self._skey, self.session_id = ops, skey, session_id
        self._prefixes = prefixes
        self.cursor = after_seq + 1
        self._queue: deque[Event] = deque()
        self._lock = threading.Lock()
        self._from_log = True  # read history first
        self._stale = False
        self._ended = False
        self._signal = threading.Event()
        self._waker: Waker = self._signal.set
        self.on_close: Callable[[EventSubscription], None] = lambda sub: None

    # -- the writer side (commit path, any thread) ------------------------------------------------

    def push(self, event: Event) -> None:
        with self._lock:
            if len(self._queue) >= QUEUE_CAPACITY:
                self._queue.clear()  # the reader is too slow: it will read the log instead
                self._stale = True
            else:
                self._queue.append(event)
            wake = len(self._queue) <= 1
        if wake:
            self._wake()

    def end(self) -> None:
        """The session is gone: the stream ends after what was already delivered."""
        with self._lock:
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
            ended, queued = self._claim()
            if self._from_log:
                events = self._read_log(limit)
                if events:
                    return Delivery(events)
                continue  # more log to read, or just caught up: drain the queue next
            events = self._take(queued)
            if events:
                return Delivery(events)
            if not self._from_log:
                return Delivery([], ended)

    def _claim(self) -> tuple[bool, list[Event]]:
        """(ended, the queued events) — the queue is handed over only when reading live."""
        with self._lock:
            if self._stale:
                self._stale, self._from_log = False, True
            if self._from_log:
                return self._ended, []
            queued = list(self._queue)
            self._queue.clear()
            return self._ended, queued

    def _read_log(self, limit: int) -> list[Event]:
        batch = list(_take_n(self._ops.read_events(self._skey, self.session_id, self.cursor), limit))
        if batch:
            self.cursor = batch[-1].seq + 1
        if len(batch) < limit:
            self._from_log = False  # caught up: what comes next is (or will be) in the queue
        return [e for e in batch if matches(e.type, self._prefixes)]

    def _take(self, queued: list[Event]) -> list[Event]:
        events: list[Event] = []
        for event in queued:
            if event.seq < self.cursor:
                continue  # already read from the log
            if event.seq > self.cursor:
                self._from_log = True  # a gap: the log has it
                return events + self._read_log(READ_BATCH)
            self.cursor += 1
            if matches(event.type, self._prefixes):
                events.append(event)
        return events

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


def _take_n(events: Iterable[Event], n: int) -> Iterator[Event]:
    for index, event in enumerate(events):
        if index == n:
            return
        yield event


class SubscriptionOps(LogOps):
    """SubscribeEvents: registers one listener on the commit path that feeds every subscription."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._subscriptions: dict[tuple[str, str], set[EventSubscription]] = {}
        self._subscriptions_lock = threading.Lock()
        self.listeners.append(self._publish)

    def subscribe_events(
        self, session_id: str, after_seq: int = 0, types: Iterable[str] = (), *, caller: Caller | None = None
    ) -> EventSubscription:
        """A subscription to the session's events after after_seq: its history, then live events."""
        c = self._caller(caller)
        self.require(c, Role.READER)
        prefixes = type_prefixes(types)
        if after_seq < 0:
            raise InvalidArgument("after_seq must not be negative", field="after_seq")
        with self.lock:  # no commit or delete between the check and the registration
            skey, _ = self.fetch_current(c, session_id)
            subscription = EventSubscription(self, skey, session_id, after_seq, prefixes)
            key = (c.tenant, session_id)
            with self._subscriptions_lock:
                self._subscriptions.setdefault(key, set()).add(subscription)
            subscription.on_close = lambda sub: self._unsubscribe(key, sub)
        return subscription

    def _unsubscribe(self, key: tuple[str, str], subscription: EventSubscription) -> None:
        with self._subscriptions_lock:
            subscribers = self._subscriptions.get(key)
            if subscribers is not None:
                subscribers.discard(subscription)
                if not subscribers:
                    del self._subscriptions[key]

    def _publish(self, tenant: str, event: Event) -> None:
        key = (tenant, event.session_id)
        if key not in self._subscriptions:  # the common case costs one dict lookup
            return
        with self._subscriptions_lock:
            subscribers = tuple(self._subscriptions.get(key, ()))
        for subscription in subscribers:
            subscription.push(event)

    def session_deleted(self, tenant: str, session: Session) -> None:
        super().session_deleted(tenant, session)
        with self._subscriptions_lock:
            subscribers = self._subscriptions.pop((tenant, session.session_id), set())
        for subscription in subscribers:
            subscription.end()
