"""ReplayService methods of the clients: unary ones written once (see _api.py), streams per flavour.

``ReplayClientApi`` goes into both clients. ``SyncReplayStreams`` (SessionClient) and
``AsyncReplayStreams`` (AsyncSessionClient) add subscribe_events and replay_session: a subscription
is an iterator (async iterator) of Events with cancel(); a replay is an iterator of ReplayFrames
whose pause/resume/step/set_speed/add_breakpoint/stop methods send controls (never blocking).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from typing import Any

import grpc

from .._pb import replay_pb2
from ..model import Event, ReplayControl, ReplayFrame, ReplayStart
from ..wire import checkpoint_from_pb, event_from_pb, session_from_pb
from ..wire import replay as wire
from ._calls import replay_call, subscribe_call
from .errors import error_from_rpc, error_from_status

NewEvent = Mapping[str, Any]
RELEASE_WAIT_SECONDS = 2.0  # the sending thread finishes within a send; bounded in case a send never completes


class ReplayClientApi:
    """Unary ReplayService methods, named as in the embedded SessionManager."""

    def _call(self, service: str, method: str, request: Any, decode: Any) -> Any:
        raise NotImplementedError

    def append_events(self, session_id: str, events: Sequence[NewEvent], expected_last_seq: int | None = None) -> Any:
        """Appends client events ({type, payload, correlation_id, causation_id}); returns them with seqs."""
        request = wire.append_to_pb(session_id, events, expected_last_seq)
        return self._call("replay", "AppendEvents", request, lambda pb: [event_from_pb(e) for e in pb.events])

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
        return self._call("replay", "ListEvents", request, wire.event_page_from_pb)

    def create_checkpoint(self, session_id: str, label: str = "") -> Any:
        request = replay_pb2.CreateCheckpointRequest(session_id=session_id, label=label)
        return self._call("replay", "CreateCheckpoint", request, checkpoint_from_pb)

    def list_checkpoints(self, session_id: str, page_size: int = 0, page_token: str = "") -> Any:
        request = replay_pb2.ListCheckpointsRequest(session_id=session_id, page_size=page_size, page_token=page_token)
        return self._call("replay", "ListCheckpoints", request, wire.checkpoint_page_from_pb)

    def get_snapshot(self, session_id: str, at_seq: int | None = None, checkpoint_id: str = "") -> Any:
        """The session as it was after event at_seq or at a checkpoint (neither = now)."""
        request = replay_pb2.GetSnapshotRequest(session_id=session_id)
        wire.seq_point_to_pb(request, "at_seq", at_seq, checkpoint_id)
        return self._call("replay", "GetSnapshot", request, wire.snapshot_from_pb)

    def compare_snapshots(self, session_id: str, from_point: int | str | None, to_point: int | str | None) -> Any:
        """A SnapshotDiff between two points (seq or checkpoint id; None = the latest)."""
        request = replay_pb2.CompareSnapshotsRequest(session_id=session_id)
        wire.point_to_pb(from_point, getattr(request, "from"))
        wire.point_to_pb(to_point, request.to)
        return self._call("replay", "CompareSnapshots", request, wire.diff_from_pb)

    def fork_session(self, session_id: str, at_seq: int | None = None, checkpoint_id: str = "", name: str = "") -> Any:
        """A new child session as the parent was at at_seq or a checkpoint (neither = now)."""
        request = replay_pb2.ForkSessionRequest(session_id=session_id, name=name)
        wire.seq_point_to_pb(request, "at_seq", at_seq, checkpoint_id)
        return self._call("replay", "ForkSession", request, session_from_pb)

    def rewind_session(
        self, session_id: str, to_seq: int | None = None, checkpoint_id: str = "", *, etag: str = ""
    ) -> Any:
        """Restores state and artifacts as they were after to_seq or a checkpoint."""
        request = replay_pb2.RewindSessionRequest(session_id=session_id, etag=etag)
        wire.seq_point_to_pb(request, "to_seq", to_seq, checkpoint_id)
        return self._call("replay", "RewindSession", request, session_from_pb)


# -- streams ------------------------------------------------------------------------------------
#
# Their responses are read straight from the wire bytes into model objects (wire.event_from_bytes,
# wire.frame_from_bytes: natively when built) instead of through parsed messages: a replay's frames
# come faster than the runtime's messages can be converted.


class SyncReplayStreams:
    """Mixed into SessionClient: needs ``channel`` and ``options``."""

    def subscribe_events(self, session_id: str, after_seq: int = 0, types: Iterable[str] = ()) -> EventStream:
        """History after after_seq, then live events; iterate it, cancel() to stop."""
        request = replay_pb2.SubscribeEventsRequest(session_id=session_id, after_seq=after_seq, types=list(types))
        call = subscribe_call(self.channel)(request, metadata=self.options.metadata())  # type: ignore[attr-defined]
        return EventStream(call)

    def replay_session(self, start: ReplayStart) -> Replay:
        """A replay: iterate its frames; its methods send controls."""
        replay = Replay(start)
        replay.call = replay_call(self.channel)(  # type: ignore[attr-defined]
            replay.requests(),
            metadata=self.options.metadata(),  # type: ignore[attr-defined]
        )
        return replay


class AsyncReplayStreams:
    """Mixed into AsyncSessionClient: needs ``channel`` and ``options``."""

    def subscribe_events(self, session_id: str, after_seq: int = 0, types: Iterable[str] = ()) -> AsyncEventStream:
        request = replay_pb2.SubscribeEventsRequest(session_id=session_id, after_seq=after_seq, types=list(types))
        call = subscribe_call(self.channel)(request, metadata=self.options.metadata())  # type: ignore[attr-defined]
        return AsyncEventStream(call)

    def replay_session(self, start: ReplayStart) -> AsyncReplay:
        replay = AsyncReplay(start)
        replay.call = replay_call(self.channel)(  # type: ignore[attr-defined]
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
            yield from self._call
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
            async for event in self._call:
                yield event
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
        self._send(wire.control_to_pb(ReplayControl("pause")))

    def resume(self) -> None:
        self._send(wire.control_to_pb(ReplayControl("resume")))

    def step(self) -> None:
        self._send(wire.control_to_pb(ReplayControl("step")))

    def stop(self) -> None:
        self._send(wire.control_to_pb(ReplayControl("stop")))

    def set_speed(self, speed: float) -> None:
        self._send(wire.control_to_pb(ReplayControl("set_speed", speed=speed)))

    def add_breakpoint(self, seq: int = 0, event_type: str = "") -> None:
        self._send(wire.control_to_pb(ReplayControl("add_breakpoint", seq=seq, event_type=event_type)))


class Replay(_Controls):
    """A running ReplaySession (blocking client): iterate frames, call methods to control it.

    gRPC sends the controls from a daemon thread of its own. When iteration ends, the replay ends
    its control stream, waits for that thread to be done with it and lets go of the call at once.
    Left to the final garbage collection at interpreter exit, the call's ``__del__`` takes a lock
    that the daemon thread, stopped by the exit in the middle of sending, may still hold: the
    process then hangs for good (about one exit in twenty after ``stop()``).
    """

    def __init__(self, start: ReplayStart) -> None:
        self.outbox: queue.SimpleQueue[replay_pb2.ReplayControl | None] = queue.SimpleQueue()
        self.outbox.put(replay_pb2.ReplayControl(start=wire.start_to_pb(start)))
        self.call: Any = None
        self._sending = threading.Event()
        self._sent = threading.Event()

    def requests(self) -> Iterator[replay_pb2.ReplayControl]:
        """The control messages, for gRPC's sending thread, until the stream ends."""
        self._sending.set()
        try:
            while (message := self.outbox.get()) is not None:
                yield message
        finally:
            self._sent.set()

    def _send(self, message: replay_pb2.ReplayControl | None) -> None:
        self.outbox.put(message)

    def __iter__(self) -> Iterator[ReplayFrame]:
        try:
            yield from self.call
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        finally:
            self._release()

    def _release(self) -> None:
        self.outbox.put(None)  # ends the request stream
        if self._sending.is_set():
            self._sent.wait(RELEASE_WAIT_SECONDS)
        self.call = None  # the call's __del__ runs now, while gRPC's threads are alive, not at exit

    def cancel(self) -> None:
        self.outbox.put(None)
        if self.call is not None:
            self.call.cancel()


class AsyncReplay(_Controls):
    """A running ReplaySession (asyncio client): async-iterate frames, call methods to control it."""

    def __init__(self, start: ReplayStart) -> None:
        self.outbox: asyncio.Queue[replay_pb2.ReplayControl | None] = asyncio.Queue()
        self.outbox.put_nowait(replay_pb2.ReplayControl(start=wire.start_to_pb(start)))
        self.call: Any = None

    def _send(self, message: replay_pb2.ReplayControl | None) -> None:
        self.outbox.put_nowait(message)

    async def messages(self) -> AsyncIterator[replay_pb2.ReplayControl]:
        while (message := await self.outbox.get()) is not None:
            yield message

    async def __aiter__(self) -> AsyncIterator[ReplayFrame]:
        try:
            async for frame in self.call:
                yield frame
        except grpc.aio.AioRpcError as exc:
            raise error_from_status(exc.code(), exc.details() or "", exc.trailing_metadata()) from None
        finally:
            self.outbox.put_nowait(None)

    def cancel(self) -> None:
        self.outbox.put_nowait(None)
        self.call.cancel()


__all__ = ["AsyncReplayStreams", "ReplayClientApi", "SyncReplayStreams"]
