"""Snapshots: a session as it was after one event, and how each event type changes one.

A snapshot is a pure value folded over the log: ``apply_event`` is the only place that knows what
an event means for the session record, its state and its live artifacts, so GetSnapshot, fork,
rewind, replay and the automatic checkpoints cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from ...model import Event, Session, SessionState
from ..codec import clone_session, decode_session, encode_session

Expiry = Callable[[Session, datetime], "datetime | None"]
TRANSITION_TYPES = frozenset(
    {"session.suspended", "session.resumed", "session.completed", "session.failed", "session.archived"}
)


@dataclass(slots=True)
class Snapshot:
    """A session after event ``seq``: its record, its state and its live artifacts (id -> logical size).

    ``session`` is None only before the session.created event (seq 0 of a fork's base).
    """

    seq: int
    session: Session | None
    state: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, int] = field(default_factory=dict)

    def copy(self) -> Snapshot:
        session = clone_session(self.session) if self.session is not None else None
        return Snapshot(self.seq, session, dict(self.state), dict(self.artifacts))

    def to_json(self) -> dict[str, Any]:
        """The stored form (inside a checkpoint record)."""
        session = orjson.loads(encode_session(self.session)) if self.session is not None else None
        return {
            "seq": self.seq,
            "session": session,
            "state": self.state,
            "artifacts": list(self.artifacts.items()),
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> Snapshot:
        raw = data["session"]
        session = decode_session(orjson.dumps(raw)) if raw is not None else None
        return Snapshot(data["seq"], session, data["state"], dict(data["artifacts"]))


def apply_event(snapshot: Snapshot, event: Event, expiry: Expiry) -> list[str]:
    """Changes snapshot to what it was after event; returns the state keys the event changed."""
    kind = event.type
    if kind == "session.created":
        _created(snapshot, event)
    session = snapshot.session
    if session is None:
        raise ValueError(f"event {event.seq} ({kind}) comes before session.created")
    changed: list[str] = []
    if kind == "state.changed":
        changed = _change_state(snapshot, event.payload)
    elif kind == "session.updated":
        for name, value in event.payload.get("changes", {}).items():
            setattr(session, name, value)
    elif kind in TRANSITION_TYPES:
        _transition(session, event)
    elif kind == "artifact.stored":
        _stored(snapshot, session, event.payload)
    elif kind == "artifact.deleted":
        _deleted(snapshot, session, event.payload)
    elif kind == "session.rewound":
        changed = _rewound(snapshot, session, event.payload)
    elif kind == "session.access_granted":
        session.grants[event.payload["subject"]] = event.payload["access"]
    elif kind == "session.access_revoked":
        session.grants.pop(event.payload["subject"], None)
    elif kind == "session.created":
        changed = list(snapshot.state)
    snapshot.seq = session.last_event_seq = event.seq
    session.update_time = event.time
    session.expire_time = expiry(session, event.time)
    return changed


def same_value(a: Any, b: Any) -> bool:
    """JSON equality: True is not 1, and key order does not matter."""
    return a is b or orjson.dumps(a, option=orjson.OPT_SORT_KEYS) == orjson.dumps(b, option=orjson.OPT_SORT_KEYS)


def changed_keys(event: Event) -> list[str]:
    """The state keys an event changed, read from its payload alone (for replay frames)."""
    payload = event.payload
    if event.type == "state.changed":
        return [*payload.get("set", {}), *payload.get("deleted", [])]
    if event.type == "session.rewound":
        state = payload.get("state", {})
        return [*state.get("set", {}), *state.get("deleted", [])]
    if event.type == "session.created":
        return list(payload.get("state_keys", []))
    return []


def _created(snapshot: Snapshot, event: Event) -> None:
    p = event.payload
    snapshot.session = Session(
        session_id=event.session_id,
        name=p.get("name", ""),
        description=p.get("description", ""),
        tags=list(p.get("tags", [])),
        metadata=dict(p.get("metadata", {})),
        state=SessionState.ACTIVE,
        parent_session_id=p.get("parent_session_id", ""),
        created_by=event.actor,
        create_time=event.time,
        active_since=event.time,
        artifact_count=len(snapshot.artifacts),
        artifact_bytes=sum(snapshot.artifacts.values()),
        state_bytes=sum(entry_bytes(k, v) for k, v in snapshot.state.items()),
    )


def _change_state(snapshot: Snapshot, payload: dict[str, Any]) -> list[str]:
    """Applies a state delta, keeping the record's state_bytes as the store counts them."""
    values = payload.get("set", {})
    deleted = payload.get("deleted", [])
    state, session = snapshot.state, snapshot.session
    assert session is not None
    if session.state_bytes < 0:
        session.state_bytes = sum(entry_bytes(k, v) for k, v in state.items())
    for key in [*values, *deleted]:
        if key in state:
            session.state_bytes -= entry_bytes(key, state[key])
    state.update(values)
    for key in deleted:
        state.pop(key, None)
    session.state_bytes += sum(entry_bytes(k, v) for k, v in values.items())
    return [*values, *deleted]


def entry_bytes(key: str, value: Any) -> int:
    """What one state entry counts toward max_state_bytes: its key and its encoded value."""
    return len(key.encode()) + len(orjson.dumps(value))


def _transition(session: Session, event: Event) -> None:
    target = SessionState[event.payload["to_state"]]
    session.state = target
    if target == SessionState.ACTIVE:
        session.active_since = event.time
    if target in (SessionState.COMPLETED, SessionState.FAILED):
        session.end_time = event.time
    if target == SessionState.FAILED:
        session.failure_reason = event.payload.get("reason", "")


def _stored(snapshot: Snapshot, session: Session, payload: dict[str, Any]) -> None:
    artifact_id, size = payload["artifact_id"], int(payload.get("size", 0))
    if artifact_id not in snapshot.artifacts:
        snapshot.artifacts[artifact_id] = size
        session.artifact_count += 1
        session.artifact_bytes += size


def _deleted(snapshot: Snapshot, session: Session, payload: dict[str, Any]) -> None:
    size = snapshot.artifacts.pop(payload["artifact_id"], None)
    if size is not None:
        session.artifact_count -= 1
        session.artifact_bytes -= size


def _rewound(snapshot: Snapshot, session: Session, payload: dict[str, Any]) -> list[str]:
    changed = _change_state(snapshot, payload.get("state", {}))
    for item in payload.get("artifacts_removed", []):
        snapshot.artifacts.pop(item["artifact_id"], None)
    for item in payload.get("artifacts_restored", []):
        snapshot.artifacts[item["artifact_id"]] = int(item.get("size", 0))
    session.artifact_count = len(snapshot.artifacts)
    session.artifact_bytes = sum(snapshot.artifacts.values())
    return changed
