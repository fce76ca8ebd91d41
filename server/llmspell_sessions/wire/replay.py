"""ReplayService messages: new events, points in history, replay start/controls/frames, snapshots and diffs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._pb import replay_pb2
from ..errors import InvalidArgument
from ..model import (
    EventSpec,
    Page,
    Point,
    ReplayControl,
    ReplayFrame,
    ReplayMode,
    ReplayStart,
    ReplayStatus,
    SessionSnapshot,
    SnapshotDiff,
)
from ..times import to_micros
from .records import (
    artifact_from_pb,
    artifact_to_pb,
    checkpoint_from_pb,
    checkpoint_to_pb,
    event_from_fields,
    event_from_pb,
    event_to_pb,
    session_from_pb,
    session_to_pb,
)
from .values import (
    NATIVE,
    enum_from_pb,
    py_to_struct,
    py_to_value,
    py_to_value_map,
    struct_to_py,
    value_map_to_py,
    value_to_py,
)

_SIMPLE_CONTROLS = ("pause", "resume", "step", "stop")


def append_to_pb(
    session_id: str, events: Sequence[Mapping[str, Any]], expected_last_seq: int | None = None
) -> replay_pb2.AppendEventsRequest:
    """An AppendEventsRequest from {type, payload, correlation_id, causation_id} mappings."""
    request = replay_pb2.AppendEventsRequest(session_id=session_id)
    for event in events:
        item = request.events.add(
            type=event.get("type", ""),
            correlation_id=event.get("correlation_id", ""),
            causation_id=event.get("causation_id", ""),
        )
        py_to_struct(event.get("payload") or {}, item.payload)
    if expected_last_seq is not None:
        request.expected_last_seq = expected_last_seq
    return request


def append_from_pb(request: replay_pb2.AppendEventsRequest) -> dict[str, Any]:
    """append_events' arguments: the EventSpecs and the optional expected last seq."""
    specs = [EventSpec(e.type, struct_to_py(e.payload), e.causation_id, e.correlation_id) for e in request.events]
    expected = request.expected_last_seq if request.HasField("expected_last_seq") else None
    return {"session_id": request.session_id, "events": specs, "expected_last_seq": expected}


def events_to_pb(events: Sequence[Any], target: Any) -> None:
    """Appends the events to a repeated Event field."""
    for event in events:
        event_to_pb(event, target.add())


def event_page_to_pb(page: Page) -> replay_pb2.ListEventsResponse:
    """A ListEventsResponse for a page of events."""
    response = replay_pb2.ListEventsResponse(next_page_token=page.next_page_token)
    events_to_pb(page.items, response.events)
    return response


def event_page_from_pb(pb: replay_pb2.ListEventsResponse) -> Page:
    """The page of events a ListEventsResponse carries."""
    return Page([event_from_pb(e) for e in pb.events], pb.next_page_token)


def checkpoint_page_to_pb(page: Page) -> replay_pb2.ListCheckpointsResponse:
    """A ListCheckpointsResponse for a page of checkpoints."""
    response = replay_pb2.ListCheckpointsResponse(next_page_token=page.next_page_token)
    for checkpoint in page.items:
        checkpoint_to_pb(checkpoint, response.checkpoints.add())
    return response


def checkpoint_page_from_pb(pb: replay_pb2.ListCheckpointsResponse) -> Page:
    """The page of checkpoints a ListCheckpointsResponse carries."""
    return Page([checkpoint_from_pb(c) for c in pb.checkpoints], pb.next_page_token)


def seq_point_from_pb(message: Any, seq_field: str) -> int | None:
    """The seq of a ``oneof point {seq_field, checkpoint_id}`` when that is the one set, else None."""
    return getattr(message, seq_field) if message.WhichOneof("point") == seq_field else None


def seq_point_to_pb(message: Any, seq_field: str, seq: int | None, checkpoint_id: str) -> Any:
    """Sets a ``oneof point``: the seq when given, else the checkpoint id when given."""
    if seq is not None:
        setattr(message, seq_field, seq)
    elif checkpoint_id:
        message.checkpoint_id = checkpoint_id
    return message


def point_from_pb(ref: replay_pb2.SnapshotRef) -> Point | None:
    """A seq, a checkpoint id, or None (unset: the latest event)."""
    kind = ref.WhichOneof("point")
    if kind == "seq":
        return ref.seq
    if kind == "checkpoint_id":
        return ref.checkpoint_id
    return None


def point_to_pb(point: Point | None, ref: replay_pb2.SnapshotRef) -> None:
    """Fills a SnapshotRef (a str is a checkpoint id, an int a seq, None leaves it unset)."""
    if isinstance(point, str):
        ref.checkpoint_id = point
    elif point is not None:
        ref.seq = point


def start_to_pb(start: ReplayStart) -> replay_pb2.ReplayStart:
    """The ReplayStart message."""
    pb = replay_pb2.ReplayStart(
        session_id=start.session_id,
        to_seq=start.to_seq,
        mode=int(start.mode),  # type: ignore[arg-type]
        speed=start.speed,
        types=list(start.types),
    )
    pb.breakpoints.seqs.extend(start.breakpoint_seqs)
    pb.breakpoints.event_types.extend(start.breakpoint_types)
    if start.checkpoint_id:
        pb.checkpoint_id = start.checkpoint_id
    elif start.from_seq is not None:
        pb.from_seq = start.from_seq
    return pb


def start_from_pb(start: replay_pb2.ReplayStart) -> ReplayStart:
    """The ReplayStart a message carries (InvalidArgument for an unknown mode)."""
    return ReplayStart(
        session_id=start.session_id,
        from_seq=start.from_seq if start.WhichOneof("from") == "from_seq" else None,
        checkpoint_id=start.checkpoint_id,
        to_seq=start.to_seq,
        mode=enum_from_pb(ReplayMode, start.mode, "mode"),
        speed=start.speed,
        breakpoint_seqs=list(start.breakpoints.seqs),
        breakpoint_types=list(start.breakpoints.event_types),
        types=list(start.types),
    )


def control_to_pb(control: ReplayControl) -> replay_pb2.ReplayControl:
    """The ReplayControl message for a control after start."""
    if control.kind in _SIMPLE_CONTROLS:
        message = replay_pb2.ReplayControl()
        getattr(message, control.kind).SetInParent()
        return message
    if control.kind == "set_speed":
        return replay_pb2.ReplayControl(set_speed=replay_pb2.ReplaySetSpeed(speed=control.speed))
    if control.kind == "add_breakpoint":
        mark = replay_pb2.ReplayAddBreakpoint(seq=control.seq, event_type=control.event_type)
        return replay_pb2.ReplayControl(add_breakpoint=mark)
    raise InvalidArgument(f"unknown replay control {control.kind!r}", field="control")


def control_from_pb(message: replay_pb2.ReplayControl) -> ReplayControl:
    """The control a message after start carries (InvalidArgument for a second start or none)."""
    kind = message.WhichOneof("control")
    if kind in _SIMPLE_CONTROLS:
        return ReplayControl(kind)
    if kind == "set_speed":
        return ReplayControl(kind, speed=message.set_speed.speed)
    if kind == "add_breakpoint":
        return ReplayControl(kind, seq=message.add_breakpoint.seq, event_type=message.add_breakpoint.event_type)
    raise InvalidArgument(f"unexpected replay control {kind!r} after start", field="control")


def frame_to_pb(frame: ReplayFrame) -> replay_pb2.ReplayFrame:
    """The ReplayFrame message (no event on the final frame)."""
    pb = replay_pb2.ReplayFrame(
        index=frame.index,
        total=frame.total,
        status=int(frame.status),  # type: ignore[arg-type]
        changed_keys=frame.changed_keys,
    )
    if frame.event is not None:
        event_to_pb(frame.event, pb.event)
    return pb


def frame_from_pb(pb: replay_pb2.ReplayFrame) -> ReplayFrame:
    """The frame a message carries."""
    event = event_from_pb(pb.event) if pb.HasField("event") else None
    return ReplayFrame(event, pb.index, pb.total, ReplayStatus(pb.status), list(pb.changed_keys))


def frame_bytes(frame: ReplayFrame) -> bytes:
    """The ReplayFrame message's wire bytes: written in one pass by the native codec when it is built
    (the replay servicer yields them as they are), else serialized from frame_to_pb."""
    if NATIVE is None:
        return frame_to_pb(frame).SerializeToString()
    event = frame.event
    micros = 0 if event is None else to_micros(event.time)
    return NATIVE.frame_bytes(  # type: ignore[no-any-return]
        event, micros, frame.index, frame.total, int(frame.status), frame.changed_keys
    )


_STATUSES = {int(status): status for status in ReplayStatus}


def frame_from_bytes(data: bytes) -> ReplayFrame:
    """The frame a ReplayFrame message's wire bytes hold (the replay stream's response deserializer)."""
    if NATIVE is None:
        return frame_from_pb(replay_pb2.ReplayFrame.FromString(data))
    event, index, total, status, changed_keys = NATIVE.frame_fields(data)
    known = _STATUSES.get(status)
    if known is None:
        known = ReplayStatus(status)  # raises, as frame_from_pb does
    return ReplayFrame(None if event is None else event_from_fields(event), index, total, known, changed_keys)


def snapshot_to_pb(snapshot: SessionSnapshot) -> replay_pb2.GetSnapshotResponse:
    """A GetSnapshotResponse."""
    response = replay_pb2.GetSnapshotResponse(seq=snapshot.seq)
    session_to_pb(snapshot.session, response.session)
    py_to_value_map(snapshot.state, response.state)
    for artifact in snapshot.artifacts:
        artifact_to_pb(artifact, response.artifacts.add())
    return response


def snapshot_from_pb(pb: replay_pb2.GetSnapshotResponse) -> SessionSnapshot:
    """The snapshot a GetSnapshotResponse carries."""
    artifacts = [artifact_from_pb(a) for a in pb.artifacts]
    return SessionSnapshot(session_from_pb(pb.session), value_map_to_py(pb.state), artifacts, pb.seq)


def diff_to_pb(diff: SnapshotDiff) -> replay_pb2.CompareSnapshotsResponse:
    """A CompareSnapshotsResponse."""
    response = replay_pb2.CompareSnapshotsResponse(events_between=diff.events_between)
    py_to_value_map(diff.state_added, response.state_added)
    py_to_value_map(diff.state_removed, response.state_removed)
    for key, (old, new) in diff.state_changed.items():
        change = response.state_changed[key]
        py_to_value(old, change.old_value)
        py_to_value(new, change.new_value)
    for artifact in diff.artifacts_added:
        artifact_to_pb(artifact, response.artifacts_added.add())
    for artifact in diff.artifacts_removed:
        artifact_to_pb(artifact, response.artifacts_removed.add())
    return response


def diff_from_pb(pb: replay_pb2.CompareSnapshotsResponse) -> SnapshotDiff:
    """The SnapshotDiff a CompareSnapshotsResponse carries."""
    return SnapshotDiff(
        state_added=value_map_to_py(pb.state_added),
        state_removed=value_map_to_py(pb.state_removed),
        state_changed={k: (value_to_py(c.old_value), value_to_py(c.new_value)) for k, c in pb.state_changed.items()},
        artifacts_added=[artifact_from_pb(a) for a in pb.artifacts_added],
        artifacts_removed=[artifact_from_pb(a) for a in pb.artifacts_removed],
        events_between=pb.events_between,
    )
