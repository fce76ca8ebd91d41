"""The replayer: a pure state machine over a list of events, driven by controls and a clock.

It never reads the store and never waits: ``next(clock)`` answers with a frame to send now, the
seconds to wait before asking again (TIMED), or None (wait for a control). The driver (driver.py)
does the waiting; tests drive it by hand.

Frames carry the status after their event: RUNNING while it runs on, PAUSED after a step (STEP
mode starts paused), AT_BREAKPOINT when the event hit a breakpoint (the replay then waits for
resume or step). ``resume`` lets a STEP replay run without waiting between events. The last frame
has no event and the status COMPLETED or STOPPED.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ...errors import InvalidArgument
from ...model import MAX_SPEED, MIN_SPEED, Event, ReplayControl, ReplayFrame, ReplayMode, ReplayStatus
from .snapshot import changed_keys


def check_speed(speed: float) -> float:
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise InvalidArgument(f"speed must be between {MIN_SPEED} and {MAX_SPEED}", field="speed")
    return speed


class Replayer:
    """Replays events under control; never touches the store."""

    def __init__(
        self,
        events: Sequence[Event],
        mode: ReplayMode = ReplayMode.FAST,
        speed: float = 1.0,
        breakpoint_seqs: Iterable[int] = (),
        breakpoint_types: Iterable[str] = (),
    ) -> None:
        self.events = events
        self.mode = ReplayMode.FAST if mode == ReplayMode.UNSPECIFIED else mode
        self.speed = check_speed(speed)
        self.breakpoint_seqs = set(breakpoint_seqs)
        self.breakpoint_types = set(breakpoint_types)
        self.position = 0  # events sent so far
        self.status = ReplayStatus.PAUSED if self.mode == ReplayMode.STEP else ReplayStatus.RUNNING
        self.finished = False
        self._steps = 0  # step controls not yet served
        self._stopping = False
        self._last_sent: float | None = None

    @property
    def total(self) -> int:
        return len(self.events)

    def apply(self, control: ReplayControl, clock: float) -> None:
        """Takes one control (InvalidArgument for an unknown one or a bad value)."""
        kind = control.kind
        if kind == "stop":
            self._stopping = True
        elif kind == "pause":
            if self.status == ReplayStatus.RUNNING:
                self.status = ReplayStatus.PAUSED
        elif kind == "resume":
            if self.status in (ReplayStatus.PAUSED, ReplayStatus.AT_BREAKPOINT):
                self.status, self._last_sent = ReplayStatus.RUNNING, clock  # the next gap counts from now
                if self.mode == ReplayMode.STEP:
                    self.mode = ReplayMode.FAST
        elif kind == "step":
            self._steps += 1
        elif kind == "set_speed":
            self.speed = check_speed(control.speed)
        elif kind == "add_breakpoint":
            self._add_breakpoint(control)
        else:
            raise InvalidArgument(f"unknown replay control {kind!r}", field="control")

    def _add_breakpoint(self, control: ReplayControl) -> None:
        if control.seq < 0 or (control.seq == 0 and not control.event_type):
            raise InvalidArgument("a breakpoint needs a seq >= 1 or an event_type", field="add_breakpoint")
        if control.seq:
            self.breakpoint_seqs.add(control.seq)
        if control.event_type:
            self.breakpoint_types.add(control.event_type)

    def next(self, clock: float) -> ReplayFrame | float | None:
        """A frame to send now, seconds to wait before asking again, or None to wait for a control."""
        if self.finished:
            return None
        if self.position == self.total:  # every event sent: a stop that raced the last one changes nothing
            return self._finish(ReplayStatus.COMPLETED)
        if self._stopping:
            return self._finish(ReplayStatus.STOPPED)
        if self.status == ReplayStatus.RUNNING:
            if self._steps:  # a step while running: send one more, then hold
                self._steps, self.status = self._steps - 1, ReplayStatus.PAUSED
                return self._send(clock)
            wait = self._wait(clock)
            return wait if wait > 0 else self._send(clock)
        if self._steps:
            self._steps -= 1
            self.status = ReplayStatus.PAUSED
            return self._send(clock)
        return None

    def _wait(self, clock: float) -> float:
        if self.mode != ReplayMode.TIMED or self._last_sent is None or self.position == 0:
            return 0.0
        gap = (self.events[self.position].time - self.events[self.position - 1].time).total_seconds()
        return self._last_sent + max(gap, 0.0) / self.speed - clock

    def _send(self, clock: float) -> ReplayFrame:
        event = self.events[self.position]
        self.position += 1
        self._last_sent = clock
        if event.seq in self.breakpoint_seqs or event.type in self.breakpoint_types:
            self.status = ReplayStatus.AT_BREAKPOINT
        return ReplayFrame(event, self.position, self.total, self.status, changed_keys(event))

    def _finish(self, status: ReplayStatus) -> ReplayFrame:
        self.finished, self.status = True, status
        return ReplayFrame(None, self.position, self.total, status)
