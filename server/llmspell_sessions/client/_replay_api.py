"""ReplayService methods of the clients: unary ones written once (see _api.py), streams per flavour.

``ReplayClientApi`` goes into both clients. ``SyncReplayStreams`` (SessionClient) and
``AsyncReplayStreams`` (AsyncSessionClient) add subscribe_events and replay_session: a subscription
is an iterator (async iterator) of Events with cancel(); a replay is an iterator of ReplayFrames
whose pause/resume/step/set_speed/add_breakpoint/stop methods send controls (never blocking).
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any

import grpc

from .._pb import replay_pb2
from ..model import Event, Page, ReplayFrame, ReplayStart, ReplayStatus, SessionSnapshot, SnapshotDiff
from ..rpc import convert
from .errors import error_from_rpc, error_from_status

NewEvent = Mapping[str, Any]


class ReplayClientApi:
    """Unary ReplayService methods, named as in the embedded SessionManager."""

    def _call(self, service: str, method: str, request: Any, decode: Any) -> Any:
        raise NotImplementedError

    def append_events(self, session_id: str, events: Sequence[NewEvent], expected_last_seq: int | None = None) -> Any:
        """Appends client events ({type, payload, correlation_id, causation_id}); returns them with seqs."""
        request = replay_pb2.AppendEventsRequest(session_id=session_id)
        for event in events:
            item = request.events.add(
                type=event.get("type", ""),
                correlation_id=event.get("correlation_id", ""),
                causation_id=event.get("causation_id", ""),
            )
            convert.py_to_struct(event.get("payload") or {}, item.payload)
        if expected_last_seq is not None:
            request.expected_last_seq = expected_last_seq
        return self._call("replay", "AppendEvents", request, lambda pb: [convert.event_from_pb(e) for e in pb.events])

    def list_events(
        self,
        session_id: str,
        after_seq: int = 0,
        types: Iterable[str] = (),
        page_size: int = 0,
        page_token: str = "",
    ) -> Any:
        """One page of events (a Page of Event)."""
        request = replay_pb2.ListEventsRequest(
            session_id=session_id,
            after_seq=after_seq,
            types=list(types),
            page_size=page_size,
            page_token=page_token,
        )
        return self._call("replay", "ListEvents", request, _event_page)

    def create_checkpoint(self, session_id: str, label: str = "") -> Any:
        request = replay_pb2.CreateCheckpointRequest(session_id=session_id, label=label)
        return self._call("replay", "CreateCheckpoint", request, convert.checkpoint_from_pb)

    def list_checkpoints(self, session_id: str, page_size: int = 0, page_token: str = "") -> Any:
        request = replay_pb2.ListCheckpointsRequest(session_id=session_id, page_size=page_size, page_token=page_token)
        return self._call("replay", "ListCheckpoints", request, _checkpoint_page)

    def get_snapshot(self, session_id: str, at_seq: int | None = None, checkpoint_id: str = "") -> Any:
        """The session as it was after event at_seq or at a checkpoint (neither = now)."""
        request = replay_pb2.GetSnapshotRequest(session_id=session_id)
        if at_seq is not None:
            request.at_seq = at_seq
        elif checkpoint_id:
            request.checkpoint_id = checkpoint_id
        return self._call("replay", "GetSnapshot", request, snapshot_from_pb)

    def compare_snapshots(self, session_id: str, from_point: int | str | None, to_point: int | str | None) -> Any:
        """A SnapshotDiff between two points (seq or checkpoint id; None = the latest)."""
        request = replay_pb2.CompareSnapshotsRequest(session_id=session_id)
        _set_point(getattr(request, "from"), from_point)
        _set_point(request.to, to_point)
        return self._call("replay", "CompareSnapshots", request, diff_from_pb)

    def fork_session(self, session_id: str, at_seq: int | None = None, checkpoint_id: str = "", name: str = "") -> Any:
        """A new child session as the parent was at at_seq or a checkpoint (neither = now)."""
        request = replay_pb2.ForkSessionRequest(session_id=session_id, name=name)
        if at_seq is not None:
            request.at_seq = at_seq
        elif checkpoint_id:
            request.checkpoint_id = checkpoint_id
        return self._call("replay", "ForkSession", request, convert.session_from_pb)

    def rewind_session(
        self, session_id: str, to_seq: int | None = None, checkpoint_id: str = "", *, etag: str = ""
    ) -> Any:
        """Restores state and artifacts as they were after to_seq or a checkpoint."""
        request = replay_pb2.RewindSessionRequest(session_id=session_id, etag=etag)
        if to_seq is not None:
            request.to_seq = to_seq
        elif checkpoint_id:
            request.checkpoint_id = checkpoint_id
        return self._call("replay", "RewindSession", request, convert.session_from_pb)


# -- streams ------------------------------------------------------------------------------------


class SyncReplayStreams:
    """Mixed into SessionClient: needs ``stub()`` and ``options``."""

    def subscribe_events(self, session_id: str, after_seq: int = 0, types: Iterable[str] = ()) -> EventStream:
        """History after after_seq, then live events; iterate it, cancel() to stop."""
        request = replay_pb2.SubscribeEventsRequest(session_id=session_id, after_seq=after_seq, types=list(types))
        call = self.stub("replay").SubscribeEvents(request, metadata=self.options.metadata())  # type: ignore[attr-defined]
        return EventStream(call)

    def replay_session(self, start: ReplayStart) -> Replay:
        """A replay: iterate its frames; its methods send controls."""
        replay = Replay(start)
        replay.call = self.stub("replay").ReplaySession(  # type: ignore[attr-defined]
            iter(replay.outbox.get, None),
            metadata=self.options.metadata(),  # type: ignore[attr-defined]
        )
        return replay


class AsyncReplayStreams:
    """Mixed into AsyncSessionClient: needs ``stub()`` and ``options``."""

    def subscribe_events(self, session_id: str, after_seq: int = 0, types: Iterable[str] = ()) -> AsyncEventStream:
        request = replay_pb2.SubscribeEventsRequest(session_id=session_id, after_seq=after_seq, types=list(types))
        call = self.stub("replay").SubscribeEvents(request, metadata=self.options.metadata())  # type: ignore[attr-defined]
        return AsyncEventStream(call)

    def replay_session(self, start: ReplayStart) -> AsyncReplay:
        replay = AsyncReplay(start)
        replay.call = self.stub("replay").ReplaySession(  # type: ignore[attr-defined]
            replay.messages(),
            metadata=self.options.metadata(),  # type: ignore[attr-defined]
        )
        return replay


class EventStream:
    """A blocking iterator of Events from SubscribeEvents."""

    def __init__(self, call: Any) -> None:
        self._call = call

    def __iter__(self) -> Iterator[Event]:
        try:
            for pb in self._call:
                yield convert.event_from_pb(pb)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:  # type: ignore[attr-defined]
                raise error_from_rpc(exc) from None

    def cancel(self) -> None:
        self._call.cancel()


class AsyncEventStream:
    """An async iterator of Events from SubscribeEvents."""

    def __init__(self, call: Any) -> None:
        self._call = call

    async def __aiter__(self) -> AsyncIterator[Event]:
        try:
            async for pb in self._call:
                yield convert.event_from_pb(pb)
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                raise error_from_status(exc.code(), exc.details() or "", exc.trailing_metadata()) from None
        except asyncio.CancelledError:
            if not self._call.cancelled():
                raise

    def cancel(self) -> None:
        self._call.cancel()


class _Controls:
    """The control methods of a replay; subclasses say how a message is sent."""

    def _send(self, message: replay_pb2.ReplayControl | None) -> None:
        raise NotImplementedError

    def pause(self) -> None:
        self._send(replay_pb2.ReplayControl(pause=replay_pb2.ReplayPause()))

    def resume(self) -> None:
        self._send(replay_pb2.ReplayControl(resume=replay_pb2.ReplayResume()))

    def step(self) -> None:
        self._send(replay_pb2.ReplayControl(step=replay_pb2.ReplayStep()))

    def stop(self) -> None:
        self._send(replay_pb2.ReplayControl(stop=replay_pb2.ReplayStop()))

    def set_speed(self, speed: float) -> None:
        self._send(replay_pb2.ReplayControl(set_speed=replay_pb2.ReplaySetSpeed(speed=speed)))

    def add_breakpoint(self, seq: int = 0, event_type: str = "") -> None:
        message = replay_pb2.ReplayAddBreakpoint(seq=seq, event_type=event_type)
        self._send(replay_pb2.ReplayControl(add_breakpoint=message))


class Replay(_Controls):
    """A running ReplaySession (blocking client): iterate frames, call methods to control it."""

    def __init__(self, start: ReplayStart) -> None:
        self.outbox: queue.SimpleQueue[replay_pb2.ReplayControl | None] = queue.SimpleQueue()
        self.outbox.put(replay_pb2.ReplayControl(start=start_to_pb(start)))
        self.call: Any = None

    def _send(self, message: replay_pb2.ReplayControl | None) -> None:
        self.outbox.put(message)

    def __iter__(self) -> Iterator[ReplayFrame]:
        try:
            for pb in self.call:
                yield frame_from_pb(pb)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        finally:
            self.outbox.put(None)  # ends the request stream

    def cancel(self) -> None:
        self.outbox.put(None)
        self.call.cancel()


class AsyncReplay(_Controls):
    """A running ReplaySession (asyncio client): async-iterate frames, call methods to control it."""

    def __init__(self, start: ReplayStart) -> None:
        self.outbox: asyncio.Queue[replay_pb2.ReplayControl | None] = asyncio.Queue()
        self.outbox.put_nowait(replay_pb2.ReplayControl(start=start_to_pb(start)))
        self.call: Any = None

    def _send(self, message: replay_pb2.ReplayControl | None) -> None:
        self.outbox.put_nowait(message)

    async def messages(self) -> AsyncIterator[replay_pb2.ReplayControl]:
        while (message := await self.outbox.get()) is not None:
            yield message

    async def __aiter__(self) -> AsyncIterator[ReplayFrame]:
        try:
            async for pb in self.call:
                yield frame_from_pb(pb)
        except grpc.aio.AioRpcError as exc:
            raise error_from_status(exc.code(), exc.details() or "", exc.trailing_metadata()) from None
        finally:
            self.outbox.put_nowait(None)

    def cancel(self) -> None:
        self.outbox.put_nowait(None)
        self.call.cancel()


# -- conversions -----------------------------------------------------------------------------------


def start_to_pb(start: ReplayStart) -> replay_pb2.ReplayStart:
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


def frame_from_pb(pb: replay_pb2.ReplayFrame) -> ReplayFrame:
    event = convert.event_from_pb(pb.event) if pb.HasField("event") else None
    return ReplayFrame(event, pb.index, pb.total, ReplayStatus(pb.status), list(pb.changed_keys))


def snapshot_from_pb(pb: replay_pb2.GetSnapshotResponse) -> SessionSnapshot:
    return SessionSnapshot(
        convert.session_from_pb(pb.session),
        convert.value_map_to_py(pb.state),
        [convert.artifact_from_pb(a) for a in pb.artifacts],
        pb.seq,
    )


def diff_from_pb(pb: replay_pb2.CompareSnapshotsResponse) -> SnapshotDiff:
    return SnapshotDiff(
        state_added=convert.value_map_to_py(pb.state_added),
        state_removed=convert.value_map_to_py(pb.state_removed),
        state_changed={
            k: (convert.value_to_py(c.old_value), convert.value_to_py(c.new_value)) for k, c in pb.state_changed.items()
        },
        artifacts_added=[convert.artifact_from_pb(a) for a in pb.artifacts_added],
        artifacts_removed=[convert.artifact_from_pb(a) for a in pb.artifacts_removed],
        events_between=pb.events_between,
    )


def _set_point(ref: replay_pb2.SnapshotRef, point: int | str | None) -> None:
    if isinstance(point, str):
        ref.checkpoint_id = point
    elif point is not None:
        ref.seq = point


def _event_page(pb: replay_pb2.ListEventsResponse) -> Page:
    return Page([convert.event_from_pb(e) for e in pb.events], pb.next_page_token)


def _checkpoint_page(pb: replay_pb2.ListCheckpointsResponse) -> Page:
    return Page([convert.checkpoint_from_pb(c) for c in pb.checkpoints], pb.next_page_token)


__all__ = ["AsyncReplayStreams", "ReplayClientApi", "SyncReplayStreams"]
