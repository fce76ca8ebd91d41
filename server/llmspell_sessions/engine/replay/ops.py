"""ReplaySession: a replay of a session's events under client control.

The events are read from the log a window at a time (EVENT_PAGE_BYTES at most), never all at once,
and the caller's access is checked again before each window and each frame: memory per replay stays
small whatever the log size, and a revoke ends the replay at once.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence

from ...errors import InvalidArgument
from ...model import Caller, Event, ReplayControl, ReplayFrame, ReplayMode, ReplayStart, Session
from ..admission import READ
from ..limits import EVENT_PAGE_BYTES
from ..unit_of_work import Units
from .driver import drive_replay
from .log import EventLog, matches, type_prefixes
from .replayer import Replayer
from .timetravel import TimeTravel

_WINDOW_EVENTS = 256


class WindowedEvents(Sequence[Event]):
    """The events of a replay, read forward from the log a window at a time."""

    def __init__(
        self,
        log: EventLog,
        skey: bytes,
        session_id: str,
        first: int,
        last: int,
        prefixes: tuple[str, ...],
        guard: Callable[[], None],
    ) -> None:
        self._log, self._skey, self._session_id = log, skey, session_id
        self._last, self._prefixes, self._guard = last, prefixes, guard
        self._first = self._next_seq = first
        self._window: list[Event] = []
        self._start = 0  # index of the window's first event
        self._before: Event | None = None  # the event just before the window
        if prefixes:  # a filtered replay counts its events once, holding none of them
            self._total = sum(1 for e, _ in log.read_sized(skey, session_id, first, last) if matches(e.type, prefixes))
        else:  # the log is gapless
            self._total = max(0, last - max(first, 1) + 1)

    def __len__(self) -> int:
        return self._total

    def __iter__(self) -> Iterator[Event]:
        """Every event of the replay, read afresh (the replay's own window is left alone)."""
        for event, _ in self._log.read_sized(self._skey, self._session_id, self._first, self._last):
            if matches(event.type, self._prefixes):
                yield event

    def __getitem__(self, index: int) -> Event:  # type: ignore[override]
        while index >= self._start + len(self._window):
            if not self._advance():
                raise IndexError(index)
        if index >= self._start:
            return self._window[index - self._start]
        if index == self._start - 1 and self._before is not None:
            return self._before
        raise IndexError(f"replays read forward; event {index} is behind the window")

    def _advance(self) -> bool:
        self._guard()
        if self._window:
            self._before = self._window[-1]
        self._start += len(self._window)
        window: list[Event] = []
        budget = EVENT_PAGE_BYTES
        for event, size in self._log.read_sized(self._skey, self._session_id, self._next_seq, self._last):
            if len(window) == _WINDOW_EVENTS or (window and size > budget):
                break
            self._next_seq = event.seq + 1
            budget -= size
            if matches(event.type, self._prefixes):
                window.append(event)
        else:
            self._next_seq = self._last + 1
        self._window = window
        return bool(window)


class Replays:
    """Opens replays; they never write the session."""

    def __init__(self, units: Units, log: EventLog, timetravel: TimeTravel, idle_timeout: float) -> None:
        self._units = units
        self._log = log
        self._timetravel = timetravel
        self._idle_timeout = idle_timeout

    async def run(
        self, c: Caller, start: ReplayStart, controls: AsyncIterator[ReplayControl]
    ) -> AsyncIterator[ReplayFrame]:
        """The frames of a replay of start's events, under the controls that follow it."""
        replayer, guard = self.open(c, start)
        async for frame in drive_replay(replayer, controls, guard, self._idle_timeout):
            yield frame

    def open(self, c: Caller, start: ReplayStart) -> tuple[Replayer, Callable[[], None]]:
        """A Replayer over the events start names, and the access check to repeat while it runs."""
        try:
            mode = ReplayMode(start.mode)
        except ValueError:
            raise InvalidArgument(f"unknown replay mode {start.mode}", field="mode") from None
        prefixes = type_prefixes(start.types)
        breakpoint_types = type_prefixes(start.breakpoint_types, "breakpoints.event_types")
        if any(seq < 1 for seq in start.breakpoint_seqs):
            raise InvalidArgument("breakpoint seqs must be >= 1", field="breakpoints.seqs")
        skey, session = self._units.read_session(c, start.session_id, READ)
        first, last = self._range(skey, session, start)

        def guard() -> None:
            self._units.read_session(c, start.session_id, READ)

        events = WindowedEvents(self._log, skey, start.session_id, first, last, prefixes, guard)
        replayer = Replayer(events, mode, start.speed or 1.0, start.breakpoint_seqs, breakpoint_types)
        return replayer, guard

    def _range(self, skey: bytes, session: Session, start: ReplayStart) -> tuple[int, int]:
        last_seq = session.last_event_seq
        if start.to_seq < 0:
            raise InvalidArgument("to_seq must not be negative", field="to_seq")
        last = min(start.to_seq, last_seq) if start.to_seq else last_seq
        if start.checkpoint_id:
            if start.from_seq is not None:
                raise InvalidArgument("give from_seq or checkpoint_id, not both", field="from_seq")
            first = self._timetravel.find_checkpoint(skey, start.session_id, start.checkpoint_id).seq + 1
        else:
            first = start.from_seq or 1
            if first < 0:
                raise InvalidArgument("from_seq must not be negative", field="from_seq")
        if start.to_seq and start.to_seq < first - (1 if start.checkpoint_id else 0):
            raise InvalidArgument(f"to_seq {start.to_seq} comes before the start", field="to_seq")
        return first, last
