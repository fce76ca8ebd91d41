"""ReplayService: decode the request, make one engine call, encode the answer (streams drive the engine).

Unary methods are plain functions the interceptor runs where the execution model says; the two
streams stay on the event loop, which is where the subscription waker and the replay driver live.
They yield each message's wire bytes, written in one pass by the native codec (``wire``), which the
interceptor's response serializer passes through: a replay's frames cost less to write than to
build as messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import grpc

from .._pb import common_pb2, replay_pb2, replay_pb2_grpc
from ..engine import SessionManager
from ..engine.replay import EventSubscription, ReplayControl
from ..errors import InvalidArgument
from ..model import Event
from ..wire import checkpoint_to_pb, event_bytes, session_to_pb
from ..wire import replay as wire
from .interceptors import current_caller

Context: TypeAlias = grpc.aio.ServicerContext


def add_replay_service(server: Any, manager: SessionManager) -> None:
    """Serves ReplayService on server (one line of wiring in rpc/server.py)."""
    replay_pb2_grpc.add_ReplayServiceServicer_to_server(ReplayServicer(manager), server)


class ReplayServicer(replay_pb2_grpc.ReplayServiceServicer):
    """Translates ReplayService RPCs to SessionManager calls."""

    def __init__(self, manager: SessionManager) -> None:
        self._m = manager

    def AppendEvents(
        self, request: replay_pb2.AppendEventsRequest, context: Context
    ) -> replay_pb2.AppendEventsResponse:
        events = self._m.append_events(**wire.append_from_pb(request), caller=current_caller())
        response = replay_pb2.AppendEventsResponse()
        wire.events_to_pb(events, response.events)
        return response

    def ListEvents(self, request: replay_pb2.ListEventsRequest, context: Context) -> replay_pb2.ListEventsResponse:
        page = self._m.list_events(
            request.session_id,
            request.after_seq,
            request.types,
            request.page_size,
            request.page_token,
            caller=current_caller(),
        )
        return wire.event_page_to_pb(page)

    async def SubscribeEvents(  # type: ignore[override]  # yields wire bytes (module docstring)
        self, request: replay_pb2.SubscribeEventsRequest, context: Context
    ) -> AsyncIterator[bytes]:
        """Event messages' wire bytes."""
        subscription = self._m.subscribe_events(
            request.session_id, request.after_seq, request.types, caller=current_caller()
        )
        try:
            async for event in _follow(subscription):
                yield event_bytes(event)
        finally:
            subscription.close()

    def CreateCheckpoint(self, request: replay_pb2.CreateCheckpointRequest, context: Context) -> common_pb2.Checkpoint:
        return checkpoint_to_pb(self._m.create_checkpoint(request.session_id, request.label, caller=current_caller()))

    def ListCheckpoints(
        self, request: replay_pb2.ListCheckpointsRequest, context: Context
    ) -> replay_pb2.ListCheckpointsResponse:
        page = self._m.list_checkpoints(
            request.session_id, request.page_size, request.page_token, caller=current_caller()
        )
        return wire.checkpoint_page_to_pb(page)

    def GetSnapshot(self, request: replay_pb2.GetSnapshotRequest, context: Context) -> replay_pb2.GetSnapshotResponse:
        at_seq = wire.seq_point_from_pb(request, "at_seq")
        snapshot = self._m.get_snapshot(request.session_id, at_seq, request.checkpoint_id, caller=current_caller())
        return wire.snapshot_to_pb(snapshot)

    def CompareSnapshots(
        self, request: replay_pb2.CompareSnapshotsRequest, context: Context
    ) -> replay_pb2.CompareSnapshotsResponse:
        diff = self._m.compare_snapshots(
            request.session_id,
            wire.point_from_pb(getattr(request, "from")),
            wire.point_from_pb(request.to),
            caller=current_caller(),
        )
        return wire.diff_to_pb(diff)

    async def ReplaySession(  # type: ignore[override]  # yields wire bytes (module docstring)
        self, request_iterator: AsyncIterator[replay_pb2.ReplayControl], context: Context
    ) -> AsyncIterator[bytes]:
        """ReplayFrame messages' wire bytes."""
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("control") != "start":
            raise InvalidArgument("the first replay control must be start", field="start")
        start = wire.start_from_pb(first.start)
        async for frame in self._m.replay_session(start, _controls(request_iterator), caller=current_caller()):
            yield wire.frame_bytes(frame)

    def ForkSession(self, request: replay_pb2.ForkSessionRequest, context: Context) -> common_pb2.Session:
        at_seq = wire.seq_point_from_pb(request, "at_seq")
        session = self._m.fork_session(
            request.session_id, at_seq, request.checkpoint_id, request.name, caller=current_caller()
        )
        return session_to_pb(session)

    def RewindSession(self, request: replay_pb2.RewindSessionRequest, context: Context) -> common_pb2.Session:
        to_seq = wire.seq_point_from_pb(request, "to_seq")
        session = self._m.rewind_session(
            request.session_id, to_seq, request.checkpoint_id, etag=request.etag, caller=current_caller()
        )
        return session_to_pb(session)


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


async def _controls(messages: AsyncIterator[replay_pb2.ReplayControl]) -> AsyncIterator[ReplayControl]:
    async for message in messages:
        yield wire.control_from_pb(message)
