"""Time travel: any past moment of a session, as the nearest stored snapshot plus the events after it."""

from __future__ import annotations

from collections.abc import Iterable

from ...errors import CheckpointNotFound, InvalidArgument, SessionNotFound
from ...model import Artifact, Caller, Checkpoint, Point, Role, Session, SessionSnapshot, SnapshotDiff
from ..codec import clone_session
from ..ids import is_uuid_text
from . import store
from .snapshot import Snapshot, apply_event, same_value
from .subscriptions import SubscriptionOps


class TimeTravelOps(SubscriptionOps):
    """GetSnapshot and CompareSnapshots, and the materialisation fork, rewind and replay use."""

    def get_snapshot(
        self,
        session_id: str,
        at_seq: int | None = None,
        checkpoint_id: str = "",
        *,
        caller: Caller | None = None,
    ) -> SessionSnapshot:
        """The session exactly as it was after event at_seq (or at a checkpoint; neither = now)."""
        c = self._caller(caller)
        self.require(c, Role.READER)
        skey, session = self.fetch_current(c, session_id)
        seq, _ = self.resolve_point(skey, session, at_seq, checkpoint_id)
        snapshot = self.materialise(skey, session_id, seq)
        assert snapshot.session is not None
        artifacts = self.snapshot_artifacts(c, skey, snapshot.artifacts)
        return SessionSnapshot(snapshot.session, snapshot.state, artifacts, seq)

    def compare_snapshots(
        self,
        session_id: str,
        from_point: Point | None,
        to_point: Point | None,
        *,
        caller: Caller | None = None,
    ) -> SnapshotDiff:
        """What changed from one point (seq or checkpoint id; None = the latest event) to another."""
        c = self._caller(caller)
        self.require(c, Role.READER)
        skey, session = self.fetch_current(c, session_id)
        old = self.materialise(skey, session_id, self.resolve(skey, session, from_point, "from"))
        new = self.materialise(skey, session_id, self.resolve(skey, session, to_point, "to"))
        diff = SnapshotDiff(events_between=abs(new.seq - old.seq))
        for key, value in new.state.items():
            if key not in old.state:
                diff.state_added[key] = value
            elif not same_value(old.state[key], value):
                diff.state_changed[key] = (old.state[key], value)
        diff.state_removed = {k: v for k, v in old.state.items() if k not in new.state}
        diff.artifacts_added = self.snapshot_artifacts(c, skey, {a: 0 for a in new.artifacts if a not in old.artifacts})
        diff.artifacts_removed = self.snapshot_artifacts(
            c, skey, {a: 0 for a in old.artifacts if a not in new.artifacts}
        )
        return diff

    # -- building blocks ----------------------------------------------------------------------

    def resolve(self, skey: bytes, session: Session, point: Point | None, field: str) -> int:
        """The seq of a point given as a seq (int), a checkpoint id (str) or None (the latest)."""
        if isinstance(point, str):
            return self.resolve_point(skey, session, None, point, field)[0]
        return self.resolve_point(skey, session, point, "", field)[0]

    def resolve_point(
        self, skey: bytes, session: Session, seq: int | None, checkpoint_id: str, field: str = "at_seq"
    ) -> tuple[int, Checkpoint | None]:
        """(seq, checkpoint) named by a seq or a checkpoint id; neither means the latest event."""
        if checkpoint_id:
            if seq is not None:
                raise InvalidArgument("give a seq or a checkpoint_id, not both", field=field)
            checkpoint = self.find_checkpoint(skey, session.session_id, checkpoint_id)
            return checkpoint.seq, checkpoint
        if seq is None:
            return session.last_event_seq, None
        if not 1 <= seq <= session.last_event_seq:
            raise InvalidArgument(
                f"{field} {seq} is outside the log (1..{session.last_event_seq})",
                field=field,
                last_seq=session.last_event_seq,
            )
        return seq, None

    def find_checkpoint(self, skey: bytes, session_id: str, checkpoint_id: str) -> Checkpoint:
        if not is_uuid_text(checkpoint_id):
            raise InvalidArgument("checkpoint_id is not a checkpoint id (lowercase UUID text)", field="checkpoint_id")
        found = store.get_checkpoint(self.storage, skey, session_id, checkpoint_id)
        if found is None:
            raise CheckpointNotFound(
                f"checkpoint {checkpoint_id} not found", session_id=session_id, checkpoint_id=checkpoint_id
            )
        return found[0]

    def materialise(self, skey: bytes, session_id: str, seq: int) -> Snapshot:
        """The snapshot after event seq: the nearest stored snapshot <= seq plus the events after it.

        Needs no lock: events and checkpoints are immutable once written.
        """
        snapshot = store.nearest_snapshot(self.storage, skey, seq) or Snapshot(0, None)
        for event in self.read_events(skey, session_id, snapshot.seq + 1, seq):
            apply_event(snapshot, event, self._expiry)
        if snapshot.seq != seq or snapshot.session is None:
            raise SessionNotFound(f"session {session_id} not found", session_id=session_id)  # deleted meanwhile
        return snapshot

    def snapshot_artifacts(self, caller: Caller, skey: bytes, live: Iterable[str]) -> list[Artifact]:
        """Records of a snapshot's artifacts (deleted ones included), oldest first."""
        ids = list(live)
        if not ids:
            return []
        records = self.artifact_records(caller, skey, ids)
        return sorted(records, key=lambda a: (a.create_time is None, a.create_time, a.artifact_id))

    def current_snapshot(self, skey: bytes, session: Session) -> Snapshot:
        """The snapshot at the session's last event (call under the lock)."""
        snapshot = self.materialise(skey, session.session_id, session.last_event_seq)
        snapshot.session = clone_session(session)
        return snapshot
