"""Time travel: any past moment of a session, as the nearest stored snapshot plus the events after it."""

from __future__ import annotations

from collections.abc import Iterable

from ...errors import CheckpointNotFound, InvalidArgument, SessionNotFound
from ...model import Artifact, Caller, Checkpoint, Point, Session, SessionSnapshot, SnapshotDiff
from ...storage import Storage
from ..admission import READ
from ..artifacts import ArtifactStore
from ..codec import clone_session
from ..ids import is_uuid_text
from ..records import SessionRecords
from ..unit_of_work import Units
from . import store
from .log import EventLog
from .snapshot import Snapshot, apply_event, same_value


class TimeTravel:
    """GetSnapshot and CompareSnapshots, and the materialisation fork, rewind and replay use."""

    def __init__(
        self, units: Units, storage: Storage, records: SessionRecords, log: EventLog, artifacts: ArtifactStore
    ) -> None:
        self._units = units
        self._storage = storage
        self._records = records
        self._log = log
        self._artifacts = artifacts

    def get_snapshot(self, c: Caller, session_id: str, at_seq: int | None, checkpoint_id: str) -> SessionSnapshot:
        """The session exactly as it was after event at_seq (or at a checkpoint; neither = now)."""
        skey, session = self._units.read_session(c, session_id, READ)
        seq, _ = self.resolve_point(skey, session, at_seq, checkpoint_id)
        snapshot = self.materialise(skey, session_id, seq)
        assert snapshot.session is not None
        artifacts = self.snapshot_artifacts(skey, snapshot.artifacts)
        return SessionSnapshot(snapshot.session, snapshot.state, artifacts, seq)

    def compare(self, c: Caller, session_id: str, from_point: Point | None, to_point: Point | None) -> SnapshotDiff:
        """What changed from one point (seq or checkpoint id; None = the latest event) to another."""
        skey, session = self._units.read_session(c, session_id, READ)
        old = self.materialise(skey, session_id, self.resolve(skey, session, from_point, "from"))
        new = self.materialise(skey, session_id, self.resolve(skey, session, to_point, "to"))
        diff = SnapshotDiff(events_between=abs(new.seq - old.seq))
        for key, value in new.state.items():
            if key not in old.state:
                diff.state_added[key] = value
            elif not same_value(old.state[key], value):
                diff.state_changed[key] = (old.state[key], value)
        diff.state_removed = {k: v for k, v in old.state.items() if k not in new.state}
        diff.artifacts_added = self.snapshot_artifacts(skey, [a for a in new.artifacts if a not in old.artifacts])
        diff.artifacts_removed = self.snapshot_artifacts(skey, [a for a in old.artifacts if a not in new.artifacts])
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
        found = store.get_checkpoint(self._storage, skey, session_id, checkpoint_id)
        if found is None:
            raise CheckpointNotFound(
                f"checkpoint {checkpoint_id} not found", session_id=session_id, checkpoint_id=checkpoint_id
            )
        return found[0]

    def materialise(self, skey: bytes, session_id: str, seq: int) -> Snapshot:
        """The snapshot after event seq: the nearest stored snapshot <= seq plus the events after it.

        Needs no lock: events and checkpoints are immutable once written.
        """
        snapshot = store.nearest_snapshot(self._storage, skey, seq) or Snapshot(0, None)
        for event in self._log.read_events(skey, session_id, snapshot.seq + 1, seq):
            apply_event(snapshot, event, self._records.expiry)
        if snapshot.seq != seq or snapshot.session is None:
            raise SessionNotFound(f"session {session_id} not found", session_id=session_id)  # deleted meanwhile
        return snapshot

    def snapshot_artifacts(self, skey: bytes, live: Iterable[str]) -> list[Artifact]:
        """Records of a snapshot's artifacts (deleted ones included), oldest first."""
        ids = list(live)
        if not ids:
            return []
        records = [r.artifact for r in self._artifacts.records_of(skey, ids, with_chunks=False)]
        return sorted(records, key=lambda a: (a.create_time is None, a.create_time, a.artifact_id))

    def current_snapshot(self, skey: bytes, session: Session) -> Snapshot:
        """The snapshot at the session's last event (call under the lock)."""
        snapshot = self.materialise(skey, session.session_id, session.last_event_seq)
        snapshot.session = clone_session(session)
        return snapshot
