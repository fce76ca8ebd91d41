"""The console's streaming calls: the live tail (SubscribeEvents) and the controlled replay
(ReplaySession) as NDJSON response bodies, and artifact downloads as plain bytes. Each drives the
same servicer method as the gRPC port, inside the caller scope of calls.py.

A browser's fetch cannot stream a request body, so a replay's controls (pause, step, speed,
breakpoints...) arrive as separate calls naming the replay; only the caller that started a replay
can steer it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any
from urllib.parse import quote

import orjson
from aiohttp import web
from google.protobuf.message import Message

from .._pb import artifact_pb2, common_pb2, replay_pb2
from ..errors import InvalidArgument
from ..model import Caller
from ..wire import artifacts as wire_artifacts
from ..wire.raw import data_of
from .calls import Calls, full_method, json_response, parse, to_json
from .errors import ReplayNotFound, as_llmspell_error, error_body

SUBSCRIBE = full_method("ReplayService", "SubscribeEvents")
REPLAY = full_method("ReplayService", "ReplaySession")
DOWNLOAD = full_method("ArtifactService", "DownloadArtifact")


class Streams:
    """The streaming endpoints and the replays running now."""

    def __init__(self, calls: Calls) -> None:
        self._calls = calls
        self._replays: dict[str, tuple[tuple[str, str], asyncio.Queue[replay_pb2.ReplayControl | None]]] = {}
        self._open: set[asyncio.Task[Any]] = set()

    def end(self) -> None:
        """Ends every open stream (the server is stopping), as the interceptor ends open-ended RPCs."""
        for task in list(self._open):
            task.cancel()

    async def subscribe(self, request: web.Request) -> web.StreamResponse:
        """POST /api/subscribe {SubscribeEventsRequest}: the events after after_seq, then live ones."""
        message = parse(await request.read(), replay_pb2.SubscribeEventsRequest)
        with self._calls.scope(request, SUBSCRIBE) as call:
            await self._calls.check_session(message.session_id)
            events = self._calls.replay.SubscribeEvents(message, None)
            return await self._ndjson(request, _as_json(events, common_pb2.Event), call)

    async def replay(self, request: web.Request) -> web.StreamResponse:
        """POST /api/replay {ReplayStart}: a first line {"replay_id"}, then one ReplayFrame per line."""
        start = parse(await request.read(), replay_pb2.ReplayStart)
        with self._calls.scope(request, REPLAY) as call:
            await self._calls.check_session(start.session_id)
            replay_id = secrets.token_urlsafe(16)
            queue: asyncio.Queue[replay_pb2.ReplayControl | None] = asyncio.Queue()
            self._replays[replay_id] = (_owner(call.caller), queue)
            try:
                frames = self._calls.replay.ReplaySession(_controls(start, queue), None)
                return await self._ndjson(
                    request, _prefixed({"replay_id": replay_id}, _as_json(frames, replay_pb2.ReplayFrame)), call
                )
            finally:
                del self._replays[replay_id]

    async def control(self, request: web.Request) -> web.Response:
        """POST /api/replay/control {"replay_id", "control": ReplayControl}: steers a running replay."""
        try:
            body = orjson.loads(await request.read() or b"{}")
        except orjson.JSONDecodeError as error:  # also too deep or not UTF-8
            raise InvalidArgument(f"bad replay control JSON: {error}") from None
        if (
            not isinstance(body, dict)
            or not isinstance(body.get("control"), dict)
            or not isinstance(body.get("replay_id", ""), str)
        ):
            raise InvalidArgument("send {'replay_id': '...', 'control': {...}}", field="control")
        control = parse(orjson.dumps(body["control"]), replay_pb2.ReplayControl)
        if control.WhichOneof("control") in (None, "start"):
            raise InvalidArgument("a control other than start is needed", field="control")
        with self._calls.scope(request, REPLAY) as call:
            owner, queue = self._replays.get(body.get("replay_id", ""), (None, None))
            if queue is None or owner != _owner(call.caller):
                raise ReplayNotFound("no such replay is running for you", replay_id=body.get("replay_id"))
            queue.put_nowait(control)
        return json_response({})

    async def download(self, request: web.Request) -> web.StreamResponse:
        """POST /api/download {DownloadArtifactRequest}: the verified bytes; the artifact's digest and
        size in headers. Always application/octet-stream: stored bytes are never rendered as a page."""
        message = parse(await request.read(), artifact_pb2.DownloadArtifactRequest)
        with self._calls.scope(request, DOWNLOAD) as call:
            parts = self._calls.artifacts.DownloadArtifact(message, None)
            first = await anext(parts)
            assert not isinstance(first, bytes)  # the metadata comes first, as a message; data as wire bytes
            artifact = first.artifact
            call.response = artifact
            response = web.StreamResponse(headers=_download_headers(artifact))
            await response.prepare(request)
            try:
                async for part in parts:
                    if isinstance(part, bytes):  # a data message's wire bytes, as the servicer writes them
                        part = wire_artifacts.download_response_from_bytes(part)
                    await response.write(data_of(part))
            except Exception:
                if request.transport is not None:
                    request.transport.close()  # the client sees a short body, never wrong bytes
                raise
            await response.write_eof()
            return response

    async def _ndjson(self, request: web.Request, items: AsyncGenerator[Any, None], call: Any) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await response.prepare(request)
        task = asyncio.current_task()
        assert task is not None
        self._open.add(task)
        try:
            async with aclosing(items):  # closes the servicer's stream (and its subscription) now, not at GC
                async for item in items:
                    await response.write(orjson.dumps(item) + b"\n")
        except Exception as error:  # noqa: BLE001 - the status is sent: the error is the last line
            mapped = as_llmspell_error(error, call.method)
            call.code = mapped.code
            await response.write(orjson.dumps({"error": error_body(mapped)}) + b"\n")
        except asyncio.CancelledError:
            call.code = "CANCELLED"
            return response  # the client went away, or the server is stopping
        finally:
            self._open.discard(task)
        await response.write_eof()
        return response


def _owner(caller: Caller | None) -> tuple[str, str]:
    return (caller.tenant, caller.subject) if caller else ("", "")


def _download_headers(artifact: Any) -> dict[str, str]:
    name = artifact.name.rsplit("/", 1)[-1] or artifact.artifact_id
    return {
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        "X-Llmspell-Digest": artifact.content_digest,
        "X-Llmspell-Size": str(artifact.size),
    }


async def _controls(
    start: Any, queue: asyncio.Queue[replay_pb2.ReplayControl | None]
) -> AsyncIterator[replay_pb2.ReplayControl]:
    yield replay_pb2.ReplayControl(start=start)
    while (control := await queue.get()) is not None:
        yield control


async def _as_json(messages: AsyncIterator[Any], message_type: type[Message]) -> AsyncGenerator[dict[str, Any], None]:
    """The stream's messages as JSON; those a servicer yields as wire bytes are parsed first."""
    try:
        async for message in messages:
            yield to_json(message_type.FromString(message) if isinstance(message, bytes) else message)
    finally:
        close = getattr(messages, "aclose", None)  # the servicers' streams are async generators
        if close is not None:
            await close()


async def _prefixed(
    first: dict[str, Any], rest: AsyncGenerator[dict[str, Any], None]
) -> AsyncGenerator[dict[str, Any], None]:
    yield first
    async with aclosing(rest):
        async for item in rest:
            yield item
