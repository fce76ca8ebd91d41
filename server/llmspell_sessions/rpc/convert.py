"""Protobuf <-> domain conversion, shared by the servicers and the clients.

JSON numbers travel as doubles in google.protobuf.Value; integral ones within ±2^53 come back as
Python ints so a value round-trips the same through the embedded API and over gRPC.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from datetime import UTC, datetime
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2

from .._pb import common_pb2
from ..model import Artifact, ArtifactType, Checkpoint, Event, Session, SessionState

_EXACT_INT = 2**53
ACCESS_TO_PB = {"read": common_pb2.SESSION_ACCESS_READ, "write": common_pb2.SESSION_ACCESS_WRITE}
ACCESS_FROM_PB = {number: name for name, number in ACCESS_TO_PB.items()}


def value_to_py(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() and -_EXACT_INT <= number <= _EXACT_INT else number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return struct_to_py(value.struct_value)
    if kind == "list_value":
        return [value_to_py(item) for item in value.list_value.values]
    return None


def struct_to_py(struct: struct_pb2.Struct) -> dict[str, Any]:
    return {key: value_to_py(item) for key, item in struct.fields.items()}


def py_to_value(obj: Any, target: struct_pb2.Value) -> struct_pb2.Value:
    if obj is None:
        target.null_value = struct_pb2.NULL_VALUE
    elif isinstance(obj, bool):
        target.bool_value = obj
    elif isinstance(obj, int | float):
        target.number_value = obj
    elif isinstance(obj, str):
        target.string_value = obj
    elif isinstance(obj, Mapping):
        target.struct_value.SetInParent()
        py_to_struct(obj, target.struct_value)
    elif isinstance(obj, list | tuple):
        target.list_value.SetInParent()
        for item in obj:
            py_to_value(item, target.list_value.values.add())
    else:
        raise TypeError(f"not a JSON value: {type(obj).__name__}")
    return target


def py_to_struct(obj: Mapping[str, Any], target: struct_pb2.Struct) -> struct_pb2.Struct:
    for key, item in obj.items():
        py_to_value(item, target.fields[key])
    return target


def value_map_to_py(values: Mapping[str, struct_pb2.Value]) -> dict[str, Any]:
    return {key: value_to_py(item) for key, item in values.items()}


def py_to_value_map(obj: Mapping[str, Any], target: MutableMapping[str, struct_pb2.Value]) -> None:
    for key, item in obj.items():
        py_to_value(item, target[key])  # type: ignore[arg-type]


def to_timestamp(value: datetime | None, target: timestamp_pb2.Timestamp) -> None:
    if value is not None:
        target.FromDatetime(value)


def from_timestamp(value: timestamp_pb2.Timestamp, present: bool = True) -> datetime | None:
    if not present or (value.seconds == 0 and value.nanos == 0):
        return None
    return value.ToDatetime(tzinfo=UTC)


def session_to_pb(s: Session, target: common_pb2.Session | None = None) -> common_pb2.Session:
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
    for subject, access in s.grants.items():
        pb.grants[subject] = ACCESS_TO_PB[access]
    return pb


def session_from_pb(pb: common_pb2.Session) -> Session:
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
        grants={subject: ACCESS_FROM_PB[access] for subject, access in pb.grants.items() if access in ACCESS_FROM_PB},
    )


def artifact_to_pb(a: Artifact, target: common_pb2.Artifact | None = None) -> common_pb2.Artifact:
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


def checkpoint_to_pb(c: Checkpoint, target: common_pb2.Checkpoint | None = None) -> common_pb2.Checkpoint:
    pb = target if target is not None else common_pb2.Checkpoint()
    pb.checkpoint_id = c.checkpoint_id
    pb.session_id = c.session_id
    pb.seq = c.seq
    pb.label = c.label
    to_timestamp(c.create_time, pb.create_time)
    return pb


def checkpoint_from_pb(pb: common_pb2.Checkpoint) -> Checkpoint:
    return Checkpoint(pb.checkpoint_id, pb.session_id, pb.seq, pb.label, from_timestamp(pb.create_time))


def enum_from_pb(cls: type[SessionState] | type[ArtifactType], value: int, field: str) -> Any:
    """A domain enum member for a wire value; unknown numbers are the caller's INVALID_ARGUMENT."""
    try:
        return cls(value)
    except ValueError:
        from ..errors import InvalidArgument

        raise InvalidArgument(f"{field}: {value} is not a known {cls.__name__}", field=field) from None
