"""ApplyChanges and ReadSession messages, both directions (the batched calls of engine/changes.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._pb import session_pb2
from ..model import ChangesApplied, EventSpec, RelatedState, SessionRead
from .records import artifact_from_pb, artifact_to_pb, event_from_pb, event_to_pb, session_from_pb, session_to_pb
from .values import py_to_struct, py_to_value, py_to_value_map, struct_to_py, value_map_to_py, value_to_py


def apply_to_pb(
    session_id: str,
    entries: Mapping[str, Any] | None = None,
    delete_keys: Iterable[str] = (),
    events: Sequence[EventSpec | Mapping[str, Any]] = (),
    *,
    create_entries: Mapping[str, Any] | None = None,
    expected_last_seq: int | None = None,
    etag: str = "",
    request_id: str = "",
) -> session_pb2.ApplyChangesRequest:
    request = session_pb2.ApplyChangesRequest(
        session_id=session_id, delete_keys=list(delete_keys), etag=etag, request_id=request_id
    )
    py_to_value_map(entries or {}, request.entries)
    py_to_value_map(create_entries or {}, request.create_entries)
    for event in events:
        e = _mapping(event)
        item = request.events.add(
            type=e.get("type", ""), correlation_id=e.get("correlation_id", ""), causation_id=e.get("causation_id", "")
        )
        py_to_struct(e.get("payload") or {}, item.payload)
    if expected_last_seq is not None:
        request.expected_last_seq = expected_last_seq
    return request


def _mapping(event: EventSpec | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(event, EventSpec):
        return {
            "type": event.type,
            "payload": event.payload,
            "correlation_id": event.correlation_id,
            "causation_id": event.causation_id,
        }
    return event


def apply_from_pb(request: session_pb2.ApplyChangesRequest) -> dict[str, Any]:
    """apply_changes' arguments."""
    return {
        "session_id": request.session_id,
        "entries": value_map_to_py(request.entries),
        "delete_keys": list(request.delete_keys),
        "events": [
            EventSpec(e.type, struct_to_py(e.payload), e.causation_id, e.correlation_id) for e in request.events
        ],
        "create_entries": value_map_to_py(request.create_entries),
        "expected_last_seq": request.expected_last_seq if request.HasField("expected_last_seq") else None,
        "etag": request.etag,
        "request_id": request.request_id,
    }


def applied_to_pb(applied: ChangesApplied) -> session_pb2.ApplyChangesResponse:
    response = session_pb2.ApplyChangesResponse()
    session_to_pb(applied.session, response.session)
    for event in applied.events:
        event_to_pb(event, response.events.add())
    return response


def applied_from_pb(pb: session_pb2.ApplyChangesResponse) -> ChangesApplied:
    return ChangesApplied(session_from_pb(pb.session), [event_from_pb(e) for e in pb.events])


def read_to_pb(session_id: str, **query: Any) -> session_pb2.ReadSessionRequest:
    """A ReadSessionRequest from read_session's keyword arguments (lists for the repeated ones)."""
    request = session_pb2.ReadSessionRequest(session_id=session_id)
    for name in ("state_keys", "event_types", "artifact_names", "related_session_ids"):
        getattr(request, name).extend(query.pop(name, ()))
    for name, value in query.items():
        setattr(request, name, value)
    return request


def read_from_pb(request: session_pb2.ReadSessionRequest) -> dict[str, Any]:
    """read_session's arguments."""
    return {
        "session_id": request.session_id,
        "state_keys": list(request.state_keys),
        "state_prefix": request.state_prefix,
        "reverse": request.reverse,
        "start_after": request.start_after,
        "page_size": request.page_size,
        "page_token": request.page_token,
        "last_events": request.last_events,
        "event_types": list(request.event_types),
        "artifact_names": list(request.artifact_names),
        "related_session_ids": list(request.related_session_ids),
    }


def session_read_to_pb(read: SessionRead) -> session_pb2.ReadSessionResponse:
    response = session_pb2.ReadSessionResponse(
        next_page_token=read.next_state_page_token, events_truncated=read.events_truncated
    )
    session_to_pb(read.session, response.session)
    py_to_value_map(read.state, response.state)
    for key, value in read.entries:
        py_to_value(value, response.entries.add(key=key).value)
    for event in read.events:
        event_to_pb(event, response.events.add())
    for artifact in read.artifacts:
        artifact_to_pb(artifact, response.artifacts.add())
    for related in read.related:
        item = response.related.add(session_id=related.session_id, truncated=related.truncated)
        py_to_value_map(related.state, item.state)
    return response


def session_read_from_pb(pb: session_pb2.ReadSessionResponse) -> SessionRead:
    return SessionRead(
        session_from_pb(pb.session),
        state=value_map_to_py(pb.state),
        entries=[(e.key, value_to_py(e.value)) for e in pb.entries],
        next_state_page_token=pb.next_page_token,
        events=[event_from_pb(e) for e in pb.events],
        artifacts=[artifact_from_pb(a) for a in pb.artifacts],
        events_truncated=pb.events_truncated,
        related=[RelatedState(r.session_id, value_map_to_py(r.state), r.truncated) for r in pb.related],
    )
