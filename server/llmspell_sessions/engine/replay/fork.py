"""Fork (a new session from a past moment) and rewind (the same session back to a past moment)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from ...model import Artifact, Caller, Checkpoint, EventSpec, Session, SessionState
from ...storage import keys
from .. import validation
from ..admission import READ, WRITE
from ..artifacts import ArtifactStore
from ..codec import clone_session
from ..ids import uuid7
from ..sessions import check_etag, require_active
from ..state import StateStore
from ..unit_of_work import UnitOfWork, Units
from . import store
from .snapshot import Snapshot, same_value
from .timetravel import TimeTravel

FORK_LABEL = "fork"


def describe(artifact: Artifact) -> dict[str, Any]:
    return {
        "artifact_id": artifact.artifact_id,
        "name": artifact.name,
        "version": artifact.version,
        "size": artifact.size,
    }


class ForkAndRewind:
    """ForkSession and RewindSession: history written back, through the same unit of work."""

    def __init__(self, units: Units, timetravel: TimeTravel, state: StateStore, artifacts: ArtifactStore) -> None:
        self._units = units
        self._timetravel = timetravel
        self._state = state
        self._artifacts = artifacts

    def fork(self, c: Caller, session_id: str, at_seq: int | None, checkpoint_id: str, name: str) -> Session:
        """A new ACTIVE child session with the state and artifacts as they were (no bytes copied).

        Its log starts with one session.created event (carrying ``forked_from``); the state and
        artifacts it starts with are kept as its first checkpoint (label "fork", seq 1), written in
        the same batch, so its history is complete without copying the parent's log.
        """
        name = validation.name(name)
        with self._units.begin(c) as uow:
            parent_key, parent = uow.session(session_id, READ)
            seq, _ = self._timetravel.resolve_point(parent_key, parent, at_seq, checkpoint_id)
            origin = self._timetravel.materialise(parent_key, session_id, seq)
            assert origin.session is not None
            child = self._child(c, origin.session, name, uow.time)
            child_key = keys.session_key(c.tenant, child.session_id)
            encoded = {key: orjson.dumps(value) for key, value in origin.state.items()}
            self._state.write(uow, child_key, child, encoded, [])
            copies = self._artifacts.copy_to(uow, parent_key, child_key, list(origin.artifacts))
            base = Snapshot(0, None, origin.state, {a.artifact_id: a.size for a in copies})
            child.artifact_count, child.artifact_bytes = len(copies), sum(a.size for a in copies)
            checkpoint = Checkpoint(uuid7(), child.session_id, 1, FORK_LABEL, uow.time)
            store.put_checkpoint(uow.batch, child_key, checkpoint, base)
            payload = {
                "name": child.name,
                "description": child.description,
                "tags": child.tags,
                "metadata": child.metadata,
                "parent_session_id": session_id,
                "forked_from": {"session_id": session_id, "seq": seq, "checkpoint_id": checkpoint_id},
                "state_keys": sorted(origin.state),
                "artifacts": [describe(a) for a in copies],
            }
            uow.record(child_key, None, child, [EventSpec("session.created", payload)], operation="fork_session")
            uow.commit()
            return clone_session(child)

    @staticmethod
    def _child(caller: Caller, origin: Session, name: str, time: datetime) -> Session:
        return Session(
            session_id=uuid7(),
            name=name or origin.name,
            description=origin.description,
            tags=list(origin.tags),
            metadata=dict(origin.metadata),
            state=SessionState.ACTIVE,
            parent_session_id=origin.session_id,
            created_by=caller.subject,
            create_time=time,
            active_since=time,
        )

    def rewind(self, c: Caller, session_id: str, to_seq: int | None, checkpoint_id: str, etag: str) -> Session:
        """Restores state and artifacts in place as they were after to_seq (or a checkpoint).

        Appends one session.rewound event carrying the compensation (state set and deleted,
        artifacts removed and restored) in the same batch as the change; history stays readable.
        Only ACTIVE sessions can be rewound; the record's name, tags and metadata stay as they are.
        """
        with self._units.begin(c) as uow:
            skey, before = uow.session(session_id, WRITE)
            check_etag(before, etag)
            require_active(before)
            seq, _ = self._timetravel.resolve_point(skey, before, to_seq, checkpoint_id, "to_seq")
            target = self._timetravel.materialise(skey, session_id, seq)
            current = self._timetravel.materialise(skey, session_id, before.last_event_seq)
            after = clone_session(before)
            payload = {
                "to_seq": seq,
                "checkpoint_id": checkpoint_id,
                "state": self._restore_state(uow, skey, after, current, target),
            }
            payload.update(self._restore_artifacts(uow, skey, before.last_event_seq + 1, current, target))
            after.artifact_count, after.artifact_bytes = len(target.artifacts), sum(target.artifacts.values())
            uow.record(skey, before, after, [EventSpec("session.rewound", payload)], operation="rewind_session")
            uow.commit()
            return clone_session(after)

    def _restore_state(
        self, uow: UnitOfWork, skey: bytes, after: Session, current: Snapshot, target: Snapshot
    ) -> dict[str, Any]:
        changed = {
            k: v for k, v in target.state.items() if k not in current.state or not same_value(current.state[k], v)
        }
        deleted = [k for k in current.state if k not in target.state]
        self._state.write(uow, skey, after, {k: orjson.dumps(v) for k, v in changed.items()}, deleted)
        return {"set": changed, "deleted": deleted}

    def _restore_artifacts(
        self, uow: UnitOfWork, skey: bytes, seq: int, current: Snapshot, target: Snapshot
    ) -> dict[str, list[dict[str, Any]]]:
        removed = [a for a in current.artifacts if a not in target.artifacts]
        restored = [a for a in target.artifacts if a not in current.artifacts]
        if not removed and not restored:
            return {"artifacts_removed": [], "artifacts_restored": []}
        self._artifacts.remove(uow, skey, removed, seq)
        self._artifacts.restore(uow, skey, restored)
        found = self._artifacts.records_of(skey, removed + restored, with_chunks=False)
        records = {r.artifact.artifact_id: r.artifact for r in found}
        return {
            "artifacts_removed": [describe(records[a]) for a in removed],
            "artifacts_restored": [describe(records[a]) for a in restored],
        }
