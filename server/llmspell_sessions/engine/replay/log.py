"""The event log: client events in (AppendEvents), pages of events out (ListEvents), raw reads."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from ...errors import InvalidArgument, SeqMismatch
from ...model import Caller, Event, EventSpec, Page, Session
from ...storage import Storage, keys
from .. import validation
from ..admission import READ, WRITE
from ..codec import clone_session, decode_event
from ..limits import (
    EVENT_PAGE_BYTES,
    MAX_EVENT_LINK_CHARS,
    MAX_EVENT_PAYLOAD_BYTES,
    MAX_EVENT_TYPE_CHARS,
    MAX_EVENTS_PER_APPEND,
)
from ..paging import decode_token, encode_token, query_fingerprint
from ..sessions import require_active
from ..unit_of_work import Units

RESERVED_PREFIXES = ("session.", "state.", "artifact.", "checkpoint.")
DEFAULT_EVENT_PAGE = 100

NewEvent = EventSpec | Mapping[str, Any]


class EventLog:
    """AppendEvents and ListEvents, and the log reads every other history operation builds on."""

    def __init__(self, units: Units, storage: Storage) -> None:
        self._units = units
        self._storage = storage

    def append(
        self, c: Caller, session_id: str, events: Sequence[NewEvent], expected_last_seq: int | None
    ) -> list[Event]:
        """Appends client events to an ACTIVE session, all in one atomic write; returns them with seqs.

        ``expected_last_seq`` (None or negative = unchecked) must equal the log's last seq, or
        SeqMismatch. Each event is an EventSpec or a mapping with type, payload, correlation_id and
        causation_id.
        """
        specs = client_events(events)
        with self._units.begin(c) as uow:
            skey, before = uow.session(session_id, WRITE)
            self.check_seq(before, expected_last_seq)
            require_active(before)
            committed = uow.record(skey, before, clone_session(before), specs, operation="append_events")
            uow.commit()
            return committed

    def list(
        self, c: Caller, session_id: str, after_seq: int, types: Iterable[str], page_size: int, page_token: str
    ) -> Page:
        """One page of events after after_seq, oldest first; types are prefixes, any may match. A
        page also ends before it would pass EVENT_PAGE_BYTES, so it fits any client's message limit."""
        size = validation.page_size(page_size, DEFAULT_EVENT_PAGE)
        prefixes = type_prefixes(types)
        if after_seq < 0:
            raise InvalidArgument("after_seq must not be negative", field="after_seq")
        skey, _ = self._units.read_session(c, session_id, READ)
        fingerprint = query_fingerprint(["events", c.tenant, session_id, after_seq, prefixes])
        start = after_seq + 1
        if page_token:
            last_key, _ = decode_token(page_token, fingerprint)
            start = keys.seq_of_event_key(last_key) + 1
        found: list[Event] = []
        budget = EVENT_PAGE_BYTES
        for event, encoded_size in self.read_sized(skey, session_id, start):
            if not matches(event.type, prefixes):
                continue
            if len(found) == size or (found and encoded_size > budget):
                return Page(found, encode_token(keys.event_key(skey, found[-1].seq), 0, fingerprint))
            found.append(event)
            budget -= encoded_size
        return Page(found, "")

    def last(
        self, skey: bytes, session_id: str, count: int, prefixes: tuple[str, ...], budget: int
    ) -> tuple[builtins.list[Event], bool]:
        """The last ``count`` events whose type matches, oldest first, within ``budget`` bytes (at
        least one when any matches), and whether the budget stopped the read before ``count``
        matching events were found: the log read backwards from its end."""
        width = len(skey) + keys.SEQ_BYTES
        found: builtins.list[Event] = []
        stopped = False
        for key, value in self._storage.scan("events", skey, reverse=True):
            if len(key) != width:
                continue
            if len(found) == count:
                break
            event = decode_event(session_id, value)
            if matches(event.type, prefixes):
                if found and len(value) > budget:
                    stopped = True
                    break
                found.append(event)
                budget -= len(value)
        found.reverse()
        return found, stopped

    def check_seq(self, session: Session, expected_last_seq: int | None) -> None:
        """SeqMismatch unless expected_last_seq (None or negative = unchecked) is the log's last seq."""
        if expected_last_seq is not None and expected_last_seq >= 0 and expected_last_seq != session.last_event_seq:
            raise SeqMismatch(
                f"expected_last_seq {expected_last_seq} but the log ends at {session.last_event_seq}",
                session_id=session.session_id,
                last_seq=session.last_event_seq,
            )

    def read_events(self, skey: bytes, session_id: str, first: int, last: int | None = None) -> Iterator[Event]:
        """Events with first <= seq (<= last), in order, straight from the store."""
        for event, _ in self.read_sized(skey, session_id, first, last):
            yield event

    def read_sized(
        self, skey: bytes, session_id: str, first: int, last: int | None = None
    ) -> Iterator[tuple[Event, int]]:
        """(event, its stored size) with first <= seq (<= last), in order."""
        width = len(skey) + keys.SEQ_BYTES
        for key, value in self._storage.scan("events", skey, start=keys.event_key(skey, max(first, 1))):
            if len(key) != width:
                continue
            event = decode_event(session_id, value)
            if last is not None and event.seq > last:
                return
            yield event, len(value)


def client_events(events: Sequence[NewEvent]) -> list[EventSpec]:
    """Validated EventSpecs of client events (types outside the reserved prefixes)."""
    if not events:
        raise InvalidArgument("events must not be empty", field="events")
    if len(events) > MAX_EVENTS_PER_APPEND:
        raise InvalidArgument(f"at most {MAX_EVENTS_PER_APPEND} events per call", field="events")
    return [_client_event(event, f"events[{i}]") for i, event in enumerate(events)]


def _client_event(event: NewEvent, field: str) -> EventSpec:
    if isinstance(event, EventSpec):
        kind, payload, correlation, causation = (
            event.type,
            event.payload,
            event.correlation_id,
            event.causation_id,
        )
    elif isinstance(event, Mapping):
        kind, payload = event.get("type", ""), event.get("payload") or {}
        correlation, causation = event.get("correlation_id", ""), event.get("causation_id", "")
    else:
        raise InvalidArgument(f"{field} must be an EventSpec or a mapping", field=field)
    kind = event_type(kind, f"{field}.type")
    if kind.lower().startswith(RESERVED_PREFIXES):
        raise InvalidArgument(f"{field}.type {kind!r} uses a reserved prefix {RESERVED_PREFIXES}", field=field)
    if not isinstance(payload, Mapping):
        raise InvalidArgument(f"{field}.payload must be a JSON object", field=field)
    payload = dict(payload)
    validation.json_value(payload, f"{field}.payload", MAX_EVENT_PAYLOAD_BYTES)
    return EventSpec(
        kind,
        payload,
        _link(causation, f"{field}.causation_id"),
        _link(correlation, f"{field}.correlation_id"),
    )


def event_type(value: Any, field: str) -> str:
    """An event type: 1-128 printable characters."""
    if not isinstance(value, str) or not value or len(value) > MAX_EVENT_TYPE_CHARS or not value.isprintable():
        raise InvalidArgument(f"{field} must be 1-{MAX_EVENT_TYPE_CHARS} printable characters", field=field)
    return value


def _link(value: Any, field: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_EVENT_LINK_CHARS or not value.isprintable():
        raise InvalidArgument(f"{field} must be at most {MAX_EVENT_LINK_CHARS} printable characters", field=field)
    return value


def type_prefixes(types: Iterable[str], field: str = "types") -> tuple[str, ...]:
    """Validated type prefixes of a filter (empty = every type)."""
    return tuple(sorted({event_type(t, field) for t in types}))


def matches(kind: str, prefixes: tuple[str, ...]) -> bool:
    return not prefixes or kind.startswith(prefixes)
