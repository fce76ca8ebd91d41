"""Fork (a new session from a past moment) and rewind (the same session back to a past moment)."""

from __future__ import annotations

from typing import Any

import orjson

from ...model import Artifact, Caller, Checkpoint, Role, Session, SessionState
from ...storage import WriteBatch
from .. import keys, validation
from ..codec import clone_session, now
from ..ids import uuid7
from . import store
from .checkpoints import CheckpointOps
from .snapshot import Snapshot, same_value

FORK_LABEL = "fork"


def describe(artifact: Artifact) -> dict[str, Any]:
    return {
        "artifact_id": artifact.artifact_id,
        "name": artifact.name,
        "version": artifact.version,
        "size": artifact.size,
    }


class ForkOps(CheckpointOps):
    """ForkSession and RewindSession."""

    def fork_session(
        self,
        session_id: str,
        at_seq: int | None = None,
        checkpoint_id: str = "",
        name: str = "",
        *,
        caller: Caller | None = None,
    ) -> Session:
        """A new ACTIVE child session with the state and artifacts as they were (no bytes copied).

        Its log starts with one session.created event (carrying ``forked_from``); the state and
        artifacts it starts with are kept as its first checkpoint (label "fork", seq 1), written in
        the same batch, so its history is complete without copying the parent's log.
        """
        c = self._caller(caller)
        self.require(c, Role.WRITER)
        name = validation.name(name)
        with self.lock:
            parent_key, parent = self.fetch_current(c, session_id)
            seq, _ = self.resolve_point(parent_key, parent, at_seq, checkpoint_id)
            origin = self.materialise(parent_key, session_id, seq)
            assert origin.session is not None
            self._check_active_limit(c)
            child = self._child(c, origin.session, name)
            child_key = keys.session_key(c.tenant, child.session_id)
            batch = WriteBatch()
            for key, value in origin.state.items():
                batch.put("state", keys.state_key(child_key, key), orjson.dumps(value))
            copies = (
                self.copy_artifacts(batch, c, parent_key, child_key, list(origin.artifacts)) if origin.artifacts else []
            )
            base = Snapshot(0, None, origin.state, {a.artifact_id: a.size for a in copies})
            child.artifact_count, child.artifact_bytes = len(copies), sum(a.size for a in copies)
            store.put_checkpoint(batch, child_key, Checkpoint(uuid7(), child.session_id, 1, FORK_LABEL, now()), base)
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
            self.commit(c, child_key, None, child, "session.created", payload, operation="fork_session", batch=batch)
            return clone_session(child)

    @staticmethod
    def _child(caller: Caller, origin: Session, name: str) -> Session:
        time = now()
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

    def rewind_session(
        self,
        session_id: str,
        to_seq: int | None = None,
        checkpoint_id: str = "",
        *,
        etag: str = "",
        caller: Caller | None = None,
    ) -> Session:
        """Restores state and artifacts in place as they were after to_seq (or a checkpoint).

        Appends one session.rewound event carrying the compensation (state set and deleted,
        artifacts removed and restored) in the same batch as the change; history stays readable.
        Only ACTIVE sessions can be rewound; the record's name, tags and metadata stay as they are.
        """
        c = self._caller(caller)
        self.require(c, Role.WRITER)
        with self.lock:
            skey, before = self.fetch_current(c, session_id)
            self.check_etag(before, etag)
            self.require_active(before)
            seq, _ = self.resolve_point(skey, before, to_seq, checkpoint_id, "to_seq")
            target = self.materialise(skey, session_id, seq)
            current = self.materialise(skey, session_id, before.last_event_seq)
            batch = WriteBatch()
            payload = {
                "to_seq": seq,
                "checkpoint_id": checkpoint_id,
                "state": self._restore_state(batch, skey, current, target),
            }
            payload.update(self._restore_artifacts(batch, c, skey, current, target))
            after = clone_session(before)
            after.artifact_count, after.artifact_bytes = len(target.artifacts), sum(target.artifacts.values())
            self.commit(c, skey, before, after, "session.rewound", payload, operation="rewind_session", batch=batch)
            return clone_session(after)

    @staticmethod
    def _restore_state(batch: WriteBatch, skey: bytes, current: Snapshot, target: Snapshot) -> dict[str, Any]:
        changed = {
            k: v for k, v in target.state.items() if k not in current.state or not same_value(current.state[k], v)
        }
        deleted = [k for k in current.state if k not in target.state]
        for key, value in changed.items():
            batch.put("state", keys.state_key(skey, key), orjson.dumps(value))
        for key in deleted:
            batch.delete("state", keys.state_key(skey, key))
        return {"set": changed, "deleted": deleted}

    def _restore_artifacts(
        self, batch: WriteBatch, caller: Caller, skey: bytes, current: Snapshot, target: Snapshot
    ) -> dict[str, list[dict[str, Any]]]:
        removed = [a for a in current.artifacts if a not in target.artifacts]
        restored = [a for a in target.artifacts if a not in current.artifacts]
        if not removed and not restored:
            return {"artifacts_removed": [], "artifacts_restored": []}
        if removed:
            self.remove_artifacts(batch, caller, skey, removed)
        if restored:
            self.restore_artifacts(batch, caller, skey, restored)
        records = {a.artifact_id: a for a in self.artifact_records(caller, skey, removed + restored)}
        return {
            "artifacts_removed": [describe(records[a]) for a in removed],
            "artifacts_restored": [describe(records[a]) for a in restored],
        }
