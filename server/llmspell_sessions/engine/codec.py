"""Record encodings: domain objects <-> bytes in the store (JSON via orjson, times as µs)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson

from ..model import Checkpoint, Event, Session, SessionState
from ..times import EPOCH as _EPOCH
from ..times import from_micros, to_micros

UNKNOWN_STATE_BYTES = -1  # records written before state sizes were kept: counted on first write


def now() -> datetime:
    return datetime.now(UTC)


def encode_session(s: Session) -> bytes:
    return orjson.dumps(
        [
            1,
            s.session_id,
            s.name,
            s.description,
            s.tags,
            s.metadata,
            int(s.state),
            s.parent_session_id,
            s.created_by,
            to_micros(s.create_time),
            to_micros(s.update_time),
            to_micros(s.end_time),
            to_micros(s.expire_time),
            s.artifact_count,
            s.artifact_bytes,
            s.last_event_seq,
            s.failure_reason,
            to_micros(s.active_since),
            s.grants,
            s.state_bytes,
        ]
    )


def decode_session(data: bytes) -> Session:
    fields = orjson.loads(data)
    (_, sid, name, desc, tags, meta, state, parent, by, c, u, e, x, ac, ab, seq, reason, active) = fields[:18]
    return Session(
        session_id=sid,
        name=name,
        description=desc,
        tags=tags,
        metadata=meta,
        state=SessionState(state),
        parent_session_id=parent,
        created_by=by,
        create_time=from_micros(c),
        update_time=from_micros(u),
        end_time=from_micros(e),
        expire_time=from_micros(x),
        artifact_count=ac,
        artifact_bytes=ab,
        last_event_seq=seq,
        failure_reason=reason,
        active_since=from_micros(active),
        grants=fields[18] if len(fields) > 18 else {},
        state_bytes=fields[19] if len(fields) > 19 else UNKNOWN_STATE_BYTES,
    )


def encode_event(e: Event) -> bytes:
    return orjson.dumps([1, e.seq, e.type, to_micros(e.time), e.actor, e.correlation_id, e.causation_id, e.payload])


def decode_event(session_id: str, data: bytes) -> Event:
    _, seq, kind, time, actor, correlation, causation, payload = orjson.loads(data)[:8]  # later fields: newer
    return Event(session_id, seq, kind, from_micros(time) or _EPOCH, actor, correlation, causation, payload)


def encode_checkpoint(c: Checkpoint, snapshot: dict[str, Any]) -> bytes:
    return orjson.dumps([1, c.checkpoint_id, c.seq, c.label, to_micros(c.create_time), snapshot])


def decode_checkpoint(session_id: str, data: bytes) -> tuple[Checkpoint, dict[str, Any]]:
    _, cid, seq, label, created, snapshot = orjson.loads(data)[:6]
    return Checkpoint(cid, session_id, seq, label, from_micros(created)), snapshot


def clone_session(s: Session) -> Session:
    """A copy the caller may change without touching the engine's cached record."""
    return Session(
        s.session_id,
        s.name,
        s.description,
        list(s.tags),
        dict(s.metadata),
        s.state,
        s.parent_session_id,
        s.created_by,
        s.create_time,
        s.update_time,
        s.end_time,
        s.expire_time,
        s.artifact_count,
        s.artifact_bytes,
        s.last_event_seq,
        s.failure_reason,
        s.active_since,
        dict(s.grants),
        s.state_bytes,
    )
