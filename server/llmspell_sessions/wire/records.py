"""The records on the wire: Session, Artifact, Event and Checkpoint, both directions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from .._pb import common_pb2
from ..model import Artifact, ArtifactType, Checkpoint, Event, Session, SessionState
from ..times import to_micros
from .values import EPOCH, NATIVE, from_timestamp, py_to_struct, struct_to_py, to_timestamp

ACCESS_TO_PB = {"read": common_pb2.SESSION_ACCESS_READ, "write": common_pb2.SESSION_ACCESS_WRITE}
ACCESS_FROM_PB = {number: name for name, number in ACCESS_TO_PB.items()}


def session_to_pb(s: Session, target: common_pb2.Session | None = None) -> common_pb2.Session:
    """A Session message for the record (filled into target when given)."""
    pb = target if target is not None else common_pb2.Session()
    pb.session_id = s.session_id
    pb.name = s.name
    pb.description = s.description
    pb.tags.extend(s.tags)
    py_to_struct(s.metadata, pb.metadata)
    pb.state = int(s.state)  # type: ignore[assignment]
    pb.parent_session_id = s.parent_session_id
    pb.created_by = s.created_by
    to_timestamp(s.create_time, pb.create_time)
    to_timestamp(s.update_time, pb.update_time)
    to_timestamp(s.end_time, pb.end_time)
    to_timestamp(s.expire_time, pb.expire_time)
    pb.artifact_count = s.artifact_count
    pb.artifact_bytes = s.artifact_bytes
    pb.last_event_seq = s.last_event_seq
    pb.etag = s.etag
    pb.failure_reason = s.failure_reason
    to_timestamp(s.active_since, pb.active_since)
    pb.state_bytes = s.state_bytes
    for subject, access in s.grants.items():
        pb.grants[subject] = ACCESS_TO_PB[access]
    return pb


def session_from_pb(pb: common_pb2.Session) -> Session:
    """The Session record a message carries (etag is derived from last_event_seq)."""
    return Session(
        session_id=pb.session_id,
        name=pb.name,
        description=pb.description,
        tags=list(pb.tags),
        metadata=struct_to_py(pb.metadata),
        state=SessionState(pb.state),
        parent_session_id=pb.parent_session_id,
        created_by=pb.created_by,
        create_time=from_timestamp(pb.create_time),
        update_time=from_timestamp(pb.update_time),
        end_time=from_timestamp(pb.end_time),
        expire_time=from_timestamp(pb.expire_time),
        artifact_count=pb.artifact_count,
        artifact_bytes=pb.artifact_bytes,
        last_event_seq=pb.last_event_seq,
        failure_reason=pb.failure_reason,
        active_since=from_timestamp(pb.active_since),
        state_bytes=pb.state_bytes,
        grants={subject: ACCESS_FROM_PB[access] for subject, access in pb.grants.items() if access in ACCESS_FROM_PB},
    )


def artifact_to_pb(a: Artifact, target: common_pb2.Artifact | None = None) -> common_pb2.Artifact:
    """An Artifact message for the record (filled into target when given)."""
    pb = target if target is not None else common_pb2.Artifact()
    pb.artifact_id = a.artifact_id
    pb.session_id = a.session_id
    pb.name = a.name
    pb.version = a.version
    pb.type = int(a.type)  # type: ignore[assignment]
    pb.custom_type = a.custom_type
    pb.description = a.description
    pb.tags.extend(a.tags)
    py_to_struct(a.metadata, pb.metadata)
    pb.mime_type = a.mime_type
    pb.size = a.size
    pb.content_digest = a.content_digest
    pb.stored_size = a.stored_size
    pb.compressed = a.compressed
    pb.chunk_count = a.chunk_count
    pb.new_bytes = a.new_bytes
    pb.parent_artifact_id = a.parent_artifact_id
    pb.previous_digest = a.previous_digest
    to_timestamp(a.create_time, pb.create_time)
    pb.created_by = a.created_by
    return pb


def artifact_from_pb(pb: common_pb2.Artifact) -> Artifact:
    """The Artifact record a message carries."""
    return Artifact(
        artifact_id=pb.artifact_id,
        session_id=pb.session_id,
        name=pb.name,
        version=pb.version,
        type=ArtifactType(pb.type),
        custom_type=pb.custom_type,
        description=pb.description,
        tags=list(pb.tags),
        mime_type=pb.mime_type,
        metadata=struct_to_py(pb.metadata),
        size=pb.size,
        content_digest=pb.content_digest,
        stored_size=pb.stored_size,
        compressed=pb.compressed,
        chunk_count=pb.chunk_count,
        new_bytes=pb.new_bytes,
        parent_artifact_id=pb.parent_artifact_id,
        previous_digest=pb.previous_digest,
        create_time=from_timestamp(pb.create_time),
        created_by=pb.created_by,
    )


def event_to_pb(e: Event, target: common_pb2.Event | None = None) -> common_pb2.Event:
    """An Event message for the log entry (filled into target when given)."""
    pb = target if target is not None else common_pb2.Event()
    pb.session_id = e.session_id
    pb.seq = e.seq
    pb.type = e.type
    to_timestamp(e.time, pb.time)
    pb.actor = e.actor
    pb.correlation_id = e.correlation_id
    pb.causation_id = e.causation_id
    py_to_struct(e.payload, pb.payload)
    return pb


def event_from_pb(pb: common_pb2.Event) -> Event:
    """The log entry an Event message carries (an unset time reads as the epoch)."""
    return Event(
        session_id=pb.session_id,
        seq=pb.seq,
        type=pb.type,
        time=from_timestamp(pb.time) or datetime.fromtimestamp(0, UTC),
        actor=pb.actor,
        correlation_id=pb.correlation_id,
        causation_id=pb.causation_id,
        payload=struct_to_py(pb.payload),
    )


def event_bytes(e: Event) -> bytes:
    """The Event message's wire bytes: written in one pass by the native codec when it is built (a
    stream's servicer yields them as they are), else serialized from event_to_pb."""
    if NATIVE is not None:
        return NATIVE.event_bytes(e, to_micros(e.time))  # type: ignore[no-any-return]
    return event_to_pb(e).SerializeToString()


def event_from_bytes(data: bytes) -> Event:
    """The log entry an Event message's wire bytes hold (a stream's response deserializer)."""
    if NATIVE is None:
        return event_from_pb(common_pb2.Event.FromString(data))
    return event_from_fields(NATIVE.event_fields(data))


def event_from_fields(fields: tuple[Any, ...]) -> Event:
    """The Event of the native codec's field tuple (as event_from_pb reads the same message)."""
    session_id, seq, kind, (seconds, nanos), actor, correlation_id, causation_id, payload = fields
    time = EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    return Event(session_id, seq, kind, time, actor, correlation_id, causation_id, payload)


def checkpoint_to_pb(c: Checkpoint, target: common_pb2.Checkpoint | None = None) -> common_pb2.Checkpoint:
    """A Checkpoint message (filled into target when given)."""
    pb = target if target is not None else common_pb2.Checkpoint()
    pb.checkpoint_id = c.checkpoint_id
    pb.session_id = c.session_id
    pb.seq = c.seq
    pb.label = c.label
    to_timestamp(c.create_time, pb.create_time)
    return pb


def checkpoint_from_pb(pb: common_pb2.Checkpoint) -> Checkpoint:
    """The Checkpoint a message carries."""
    return Checkpoint(pb.checkpoint_id, pb.session_id, pb.seq, pb.label, from_timestamp(pb.create_time))
