"""Receiving one UploadArtifact stream into an ArtifactUpload, on the event loop and one worker.

Bytes are handed to a worker ~4 MiB at a time (chunk, hash and compress batch N while batch N+1
arrives), and at most one worker step runs at a time. Worker steps are shielded from the call's
cancellation: a cancelled asyncio future would drop a step that had not started, and one that had
would go on beside the clean-up. So a broken stream is cleaned up only once its worker step is done:
a resumable upload then keeps every complete chunk it received, any other is forgotten. A stream is
committed only if the call is still alive after sealing, on the loop thread.

While a broken resumable stream is being cleaned up, its progress still grows (the worker step in
flight, then the chunks received after it): ``OpenUploads`` lets QueryUploadStatus wait for that, so
the committed_size a client reads after cancelling is the one a resumed stream starts from.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeAlias

import grpc

from .._pb import artifact_pb2
from ..engine.artifacts import ArtifactUpload
from ..errors import InvalidArgument, LlmspellError
from ..model import Artifact

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
Runner = Callable[..., Awaitable[Any]]
HANDOFF_BYTES = 4 * 1024 * 1024  # bytes received before a batch goes to a worker thread
CANCEL_SETTLE_TURNS = 4
EMPTY_UPLOAD_SETTLE_SECONDS = 0.005
DRAIN_WAIT_SECONDS = 10.0  # a status query waits at most this for a broken stream's clean-up


class OpenUploads:
    """The resumable upload streams open on this server, each with whether it broke and when its
    clean-up ended, by (tenant, upload id)."""

    def __init__(self) -> None:
        self._streams: dict[tuple[str, str], set[_OpenStream]] = {}

    def open(self, upload: ArtifactUpload, context: Context) -> _OpenStream:
        stream = _OpenStream(context)
        key = (upload.caller.tenant, upload.header.upload_id)
        self._streams.setdefault(key, set()).add(stream)
        stream.done.add_done_callback(lambda _: self._close(key, stream))
        return stream

    def _close(self, key: tuple[str, str], stream: _OpenStream) -> None:
        streams = self._streams.get(key, set())
        streams.discard(stream)
        if not streams:
            self._streams.pop(key, None)

    async def settled(self, tenant: str, upload_id: str) -> bool:
        """Waits until no stream of the upload is cleaning up after breaking (at most
        DRAIN_WAIT_SECONDS; a live stream is not waited for); whether one was open when asked, so
        that the upload's progress may have moved since."""
        if (tenant, upload_id) not in self._streams:
            return False
        for _ in range(CANCEL_SETTLE_TURNS):  # a cancellation gRPC already received lands first
            await asyncio.sleep(0)
        broken = [s.done for s in self._streams.get((tenant, upload_id), set()) if s.broken()]
        if broken:
            await asyncio.wait(broken, timeout=DRAIN_WAIT_SECONDS)
        return True  # even with none broken now: one may have ended its clean-up in those turns


class _OpenStream:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.breaking = False
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def broken(self) -> bool:
        return self.breaking or self.context.cancelled()

    def close(self) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def begun(begin: asyncio.Future[ArtifactUpload]) -> ArtifactUpload:
    """The upload begin_upload returns; a call cancelled first aborts it once it exists."""
    try:
        return await asyncio.shield(begin)
    except asyncio.CancelledError:
        begin.add_done_callback(_abort_begun)
        raise


def _abort_begun(begin: asyncio.Future[ArtifactUpload]) -> None:
    if not begin.cancelled() and begin.exception() is None:
        begin.result().abort()


async def receive(
    upload: ArtifactUpload,
    messages: AsyncIterator[artifact_pb2.UploadArtifactRequest | bytes],
    context: Context,
    run: Runner,
    open_uploads: OpenUploads,
) -> Artifact:
    """Feeds the stream's data into upload, seals it and commits it (see the module docstring)."""
    stream = open_uploads.open(upload, context) if upload.header.upload_id else None
    work: asyncio.Future[Any] | None = None
    parts: list[bytes] = []
    size = 0

    async def hand_off(step: Callable[..., Any], *args: Any) -> None:
        nonlocal work
        if work is not None:
            await asyncio.shield(work)
        work = asyncio.ensure_future(run(step, *args))

    try:
        async for message in messages:
            if not isinstance(message, bytes):  # the reader gives a data message's data alone
                if message.WhichOneof("kind") != "data":
                    raise InvalidArgument("only the first message may be a header", field="header")
                message = message.data
            parts.append(message)
            size += len(message)
            if size >= HANDOFF_BYTES:
                await hand_off(upload.write_many, parts)
                parts, size = [], 0
        if parts:
            await hand_off(upload.write_many, parts)
            parts = []
        await hand_off(upload.seal)
        await asyncio.shield(work)  # type: ignore[arg-type]
        # A cancelled stream, or one gRPC failed (a message over the size limit), can end like a
        # finished one, its cancellation landing a few loop turns later: let it land, and never
        # commit such a stream.
        for _ in range(CANCEL_SETTLE_TURNS):
            await asyncio.sleep(0)
        if upload.size == 0:  # no data at all: most likely a message gRPC refused; be sure
            await asyncio.sleep(EMPTY_UPLOAD_SETTLE_SECONDS)
        if context.cancelled() or context.done():
            raise asyncio.CancelledError
        artifact = upload.commit()  # on the loop thread: no cancellation can slip in after the check
        if stream is not None:
            stream.close()
        return artifact
    except BaseException:
        if stream is not None:
            stream.breaking = True

        def clean_up(done: asyncio.Future[Any] | None = None) -> None:
            try:
                if done is not None and not done.cancelled():
                    done.exception()  # retrieved: the stream's own error is what the caller gets
                if parts and upload.header.upload_id:
                    # A write the limits refuse keeps what came before it.
                    with contextlib.suppress(LlmspellError):
                        upload.write_many(parts)
            finally:
                try:
                    upload.abort()  # whatever happened above: the pins and the upload are released
                finally:
                    if stream is not None:
                        stream.close()

        if work is not None and not work.done():
            work.add_done_callback(clean_up)
        else:
            clean_up()
        raise
