"""Receiving one UploadArtifact stream into an ArtifactUpload, on the event loop and one worker.

Bytes are handed to a worker ~4 MiB at a time (chunk, hash and compress batch N while batch N+1
arrives), and at most one worker step runs at a time. Worker steps are shielded from the call's
cancellation: a cancelled asyncio future would drop a step that had not started, and one that had
would go on beside the clean-up. So a broken stream is cleaned up only once its worker step is done:
a resumable upload then keeps every complete chunk it received, any other is forgotten. A stream is
committed only if the call is still alive after sealing, on the loop thread.
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
    messages: AsyncIterator[artifact_pb2.UploadArtifactRequest],
    context: Context,
    run: Runner,
) -> Artifact:
    """Feeds the stream's data into upload, seals it and commits it (see the module docstring)."""
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
            if message.WhichOneof("kind") != "data":
                raise InvalidArgument("only the first message may be a header", field="header")
            parts.append(message.data)
            size += len(message.data)
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
        return upload.commit()  # on the loop thread: no cancellation can slip in after the check
    except BaseException:

        def clean_up(done: asyncio.Future[Any] | None = None) -> None:
            if done is not None and not done.cancelled():
                done.exception()  # retrieved: the stream's own error is what the caller gets
            if parts and upload.header.upload_id:
                # A write the limits refuse keeps what came before it.
                with contextlib.suppress(LlmspellError):
                    upload.write_many(parts)
            upload.abort()

        if work is not None and not work.done():
            work.add_done_callback(clean_up)
        else:
            clean_up()
        raise
