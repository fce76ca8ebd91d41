"""ReplayOps: the history half of the SessionManager.

The mixins stack up one concern each: log.py (AppendEvents, ListEvents) -> subscriptions.py ->
timetravel.py (GetSnapshot, CompareSnapshots) -> checkpoints.py -> fork.py (ForkSession,
RewindSession) -> this module (ReplaySession).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from ...errors import InvalidArgument
from ...model import Caller, ReplayControl, ReplayFrame, ReplayMode, ReplayStart, Role, Session
from .driver import drive_replay
from .fork import ForkOps
from .log import matches, type_prefixes
from .replayer import Replayer


class ReplayOps(ForkOps):
    """Event log, subscriptions, checkpoints, snapshots, controlled replay, fork and rewind."""

    async def replay_session(
        self, start: ReplayStart, controls: AsyncIterator[ReplayControl], *, caller: Caller | None = None
    ) -> AsyncIterator[ReplayFrame]:
        """ReplaySession: the frames of a replay of start's events, under the controls that follow it."""
        replayer = self.open_replay(start, caller=caller)
        async for frame in drive_replay(replayer, controls):
            yield frame

    def open_replay(self, start: ReplayStart, *, caller: Caller | None = None) -> Replayer:
        """A Replayer over the events start names (read once, now); it never writes the session."""
        c = self._caller(caller)
        self.require(c, Role.READER)
        try:
            mode = ReplayMode(start.mode)
        except ValueError:
            raise InvalidArgument(f"unknown replay mode {start.mode}", field="mode") from None
        prefixes = type_prefixes(start.types)
        breakpoint_types = type_prefixes(start.breakpoint_types, "breakpoints.event_types")
        if any(seq < 1 for seq in start.breakpoint_seqs):
            raise InvalidArgument("breakpoint seqs must be >= 1", field="breakpoints.seqs")
        skey, session = self.fetch_current(c, start.session_id)
        first, last = self._replay_range(skey, session, start)
        events = [e for e in self.read_events(skey, start.session_id, first, last) if matches(e.type, prefixes)]
        return Replayer(events, mode, start.speed or 1.0, start.breakpoint_seqs, breakpoint_types)

    def _replay_range(self, skey: bytes, session: Session, start: ReplayStart) -> tuple[int, int]:
        last_seq = session.last_event_seq
        if start.to_seq < 0:
            raise InvalidArgument("to_seq must not be negative", field="to_seq")
        last = min(start.to_seq, last_seq) if start.to_seq else last_seq
        if start.checkpoint_id:
            if start.from_seq is not None:
                raise InvalidArgument("give from_seq or checkpoint_id, not both", field="from_seq")
            first = self.find_checkpoint(skey, start.session_id, start.checkpoint_id).seq + 1
        else:
            first = start.from_seq or 1
            if first < 0:
                raise InvalidArgument("from_seq must not be negative", field="from_seq")
        if start.to_seq and start.to_seq < first - (1 if start.checkpoint_id else 0):
            raise InvalidArgument(f"to_seq {start.to_seq} comes before the start", field="to_seq")
        return first, last
