"""ReplayService: decode the request, make one engine call, encode the answer (streams drive the engine)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import grpc

from .._pb import common_pb2, replay_pb2, replay_pb2_grpc
from ..engine import SessionManager
from ..engine.replay import (
    EventSubscription,
    Point,
    ReplayControl,
    ReplayFrame,
    ReplayMode,
    ReplayStart,
    SessionSnapshot,
)
from ..errors import InvalidArgument
from ..model import Event, EventSpec
from . import convert
from .interceptors import current_caller

Context: TypeAlias = grpc.aio.ServicerContext
_SIMPLE_CONTROLS = ("pause", "resume", "step", "stop")


def add_replay_service(server: Any, manager: SessionManager) -> None:
    """Serves ReplayService on server (one line of wiring in rpc/server.py)."""
    replay_pb2_grpc.add_ReplayServiceServicer_to_server(ReplayServicer(manager), server)


class ReplayServicer(replay_pb2_grpc.ReplayServiceServicer):
    """Translates ReplayService RPCs to SessionManager calls."""

    def __init__(self, manager: SessionManager) -> None:
        self._m = manager

    async def AppendEvents(
        self, request: replay_pb2.AppendEventsRequest, context: Context
    ) -> replay_pb2.AppendEventsResponse:
        specs = [
            EventSpec(e.type, convert.struct_to_py(e.payload), e.causation_id, e.correlation_id) for e in request.events
        ]
        expected = request.expected_last_seq if request.HasField("expected_last_seq") else None
        events = self._m.append_events(request.session_id, specs, expected, caller=current_caller())
        response = replay_pb2.AppendEventsResponse()
        for event in events:
            convert.event_to_pb(event, response.events.add())
        return response

    async def ListEvents(
        self, request: replay_pb2.ListEventsRequest, context: Context
    ) -> replay_pb2.ListEventsResponse:
        page = self._m.list_events(
            request.session_id,
            request.after_seq,
            request.types,
            request.page_size,
            request.page_token,
            caller=current_caller(),
        )
        response = replay_pb2.ListEventsResponse(next_page_token=page.next_page_token)
        for event in page.items:
            convert.event_to_pb(event, response.events.add())
        return response

    async def SubscribeEvents(
        self, request: replay_pb2.SubscribeEventsRequest, context: Context
    ) -> AsyncIterator[common_pb2.Event]:
        subscription = self._m.subscribe_events(
            request.session_id, request.after_seq, request.types, caller=current_caller()
        )
        try:
            async for event in _follow(subscription):
                yield convert.event_to_pb(event)
        finally:
            subscription.close()

    async def CreateCheckpoint(
        self, request: replay_pb2.CreateCheckpointRequest, context: Context
    ) -> common_pb2.Checkpoint:
        checkpoint = self._m.create_checkpoint(request.session_id, request.label, caller=current_caller())
        return convert.checkpoint_to_pb(checkpoint)

    async def ListCheckpoints(
        self, request: replay_pb2.ListCheckpointsRequest, context: Context
    ) -> replay_pb2.ListCheckpointsResponse:
        page = self._m.list_checkpoints(
            request.session_id, request.page_size, request.page_token, caller=current_caller()
        )
        response = replay_pb2.ListCheckpointsResponse(next_page_token=page.next_page_token)
        for checkpoint in page.items:
            convert.checkpoint_to_pb(checkpoint, response.checkpoints.add())
        return response

    async def GetSnapshot(
        self, request: replay_pb2.GetSnapshotRequest, context: Context
    ) -> replay_pb2.GetSnapshotResponse:
        at_seq = request.at_seq if request.WhichOneof("point") == "at_seq" else None
        snapshot = self._m.get_snapshot(request.session_id, at_seq, request.checkpoint_id, caller=current_caller())
        return snapshot_to_pb(snapshot)

    async def CompareSnapshots(
        self, request: replay_pb2.CompareSnapshotsRequest, context: Context
    ) -> replay_pb2.CompareSnapshotsResponse:
        diff = self._m.compare_snapshots(
            request.session_id,
            _point(getattr(request, "from")),
            _point(request.to),
            caller=current_caller(),
        )
        response = replay_pb2.CompareSnapshotsResponse(events_between=diff.events_between)
        convert.py_to_value_map(diff.state_added, response.state_added)
        convert.py_to_value_map(diff.state_removed, response.state_removed)
        for key, (old, new) in diff.state_changed.items():
            change = response.state_changed[key]
            convert.py_to_value(old, change.old_value)
            convert.py_to_value(new, change.new_value)
        for artifact in diff.artifacts_added:
            convert.artifact_to_pb(artifact, response.artifacts_added.add())
        for artifact in diff.artifacts_removed:
            convert.artifact_to_pb(artifact, response.artifacts_removed.add())
        return response

    async def ReplaySession(
        self, request_iterator: AsyncIterator[replay_pb2.ReplayControl], context: Context
    ) -> AsyncIterator[replay_pb2.ReplayFrame]:
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("control") != "start":
            raise InvalidArgument("the first replay control must be start", field="start")
        frames = self._m.replay_session(
            start_from_pb(first.start), _controls(request_iterator), caller=current_caller()
        )
        async for frame in frames:
            yield frame_to_pb(frame)

    async def ForkSession(self, request: replay_pb2.ForkSessionRequest, context: Context) -> common_pb2.Session:
        at_seq = request.at_seq if request.WhichOneof("point") == "at_seq" else None
        session = self._m.fork_session(
            request.session_id, at_seq, request.checkpoint_id, request.name, caller=current_caller()
        )
        return convert.session_to_pb(session)

    async def RewindSession(self, request: replay_pb2.RewindSessionRequest, context: Context) -> common_pb2.Session:
        to_seq = request.to_seq if request.WhichOneof("point") == "to_seq" else None
        session = self._m.rewind_session(
            request.session_id, to_seq, request.checkpoint_id, etag=request.etag, caller=current_caller()
        )
        return convert.session_to_pb(session)


async def _follow(subscription: EventSubscription) -> AsyncIterator[Event]:
    """The subscription's events as they come; commits on other threads wake this loop safely."""
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    subscription.set_waker(lambda: _call_soon(loop, ready))
    while True:
        ready.clear()
        delivery = subscription.poll()
        for event in delivery.events:
            yield event
        if delivery.ended:
            return
        if not delivery.events:
            await ready.wait()


def _call_soon(loop: asyncio.AbstractEventLoop, ready: asyncio.Event) -> None:
    loop.call_soon_threadsafe(ready.set)


def _point(ref: replay_pb2.SnapshotRef) -> Point | None:
    """A seq, a checkpoint id, or None (unset: the latest event)."""
    kind = ref.WhichOneof("point")
    if kind == "seq":
        return ref.seq
    if kind == "checkpoint_id":
        return ref.checkpoint_id
    return None


async def _controls(messages: AsyncIterator[replay_pb2.ReplayControl]) -> AsyncIterator[ReplayControl]:
    async for message in messages:
        yield control_from_pb(message)


def control_from_pb(message: replay_pb2.ReplayControl) -> ReplayControl:
    kind = message.WhichOneof("control")
    if kind in _SIMPLE_CONTROLS:
        return ReplayControl(kind)
    if kind == "set_speed":
        return ReplayControl(kind, speed=message.set_speed.speed)
    if kind == "add_breakpoint":
        return ReplayControl(kind, seq=message.add_breakpoint.seq, event_type=message.add_breakpoint.event_type)
    raise InvalidArgument(f"unexpected replay control {kind!r} after start", field="control")


def start_from_pb(start: replay_pb2.ReplayStart) -> ReplayStart:
    try:
        mode = ReplayMode(start.mode)
    except ValueError:
        raise InvalidArgument(f"unknown replay mode {start.mode}", field="mode") from None
    return ReplayStart(
        session_id=start.session_id,
        from_seq=start.from_seq if start.WhichOneof("from") == "from_seq" else None,
        checkpoint_id=start.checkpoint_id,
        to_seq=start.to_seq,
        mode=mode,
        speed=start.speed,
        breakpoint_seqs=list(start.breakpoints.seqs),
        breakpoint_types=list(start.breakpoints.event_types),
        types=list(start.types),
    )


def frame_to_pb(frame: ReplayFrame) -> replay_pb2.ReplayFrame:
    pb = replay_pb2.ReplayFrame(
        index=frame.index,
        total=frame.total,
        status=int(frame.status),  # type: ignore[arg-type]
        changed_keys=frame.changed_keys,
    )
    if frame.event is not None:
        convert.event_to_pb(frame.event, pb.event)
    return pb


def snapshot_to_pb(snapshot: SessionSnapshot) -> replay_pb2.GetSnapshotResponse:
    response = replay_pb2.GetSnapshotResponse(seq=snapshot.seq)
    convert.session_to_pb(snapshot.session, response.session)
    convert.py_to_value_map(snapshot.state, response.state)
    for artifact in snapshot.artifacts:
        convert.artifact_to_pb(artifact, response.artifacts.add())
    return response
