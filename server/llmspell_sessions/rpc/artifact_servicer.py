"""ArtifactService: decode, one engine call (or a stream of them), encode.

Unary methods are plain functions the interceptor runs where the execution model says; the
streams stay on the event loop and hand each blocking step to the same Execution.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeAlias

import grpc
from google.protobuf import empty_pb2

from .._pb import artifact_pb2, artifact_pb2_grpc, common_pb2
from ..engine import SessionManager
from ..errors import InvalidArgument
from ..wire import artifact_to_pb
from ..wire import artifacts as wire
from ..wire.raw import data_message
from . import upload_stream
from .execution import Execution
from .interceptors import current_caller

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
# 2 MiB: fewer sends than 1 MiB, and under the 4 MiB receive limit most gRPC clients default to.
DOWNLOAD_MESSAGE_BYTES = 2 * 1024 * 1024
MESSAGES_PER_HOP = 4


UPLOAD_ARTIFACT = "/llmspell.sessions.v1.ArtifactService/UploadArtifact"
REQUEST_READERS = {UPLOAD_ARTIFACT: wire.upload_request_from_bytes}
"""Methods whose requests are read by wire functions (registered by rpc/server.py): an upload's data
messages arrive as their data alone (see wire/raw.py)."""


class ArtifactServicer(artifact_pb2_grpc.ArtifactServiceServicer):
    """Translates ArtifactService RPCs to SessionManager calls."""

    def __init__(self, manager: SessionManager, max_message_size: int, execution: Execution) -> None:
        self._m = manager
        self._max_message_size = max_message_size
        self._run = execution.run
        self._open_uploads = upload_stream.OpenUploads()

    async def UploadArtifact(  # type: ignore[override]  # data messages arrive as their data (REQUEST_READERS)
        self, request_iterator: AsyncIterator[artifact_pb2.UploadArtifactRequest | bytes], context: Context
    ) -> common_pb2.Artifact:
        first = await anext(request_iterator, None)
        if first is None or isinstance(first, bytes) or first.WhichOneof("kind") != "header":
            raise InvalidArgument("the first message must be the header", field="header")
        header = wire.header_from_pb(first.header)
        upload = await upload_stream.begun(
            asyncio.ensure_future(self._run(self._m.begin_upload, header, caller=current_caller()))
        )
        return artifact_to_pb(
            await upload_stream.receive(upload, request_iterator, context, self._run, self._open_uploads)
        )

    def StoreArtifact(self, request: artifact_pb2.StoreArtifactRequest, context: Context) -> common_pb2.Artifact:
        header = wire.header_from_pb(request.header)
        return artifact_to_pb(self._m.put_artifact(header, request.content, caller=current_caller()))

    async def QueryUploadStatus(
        self, request: artifact_pb2.QueryUploadStatusRequest, context: Context
    ) -> artifact_pb2.QueryUploadStatusResponse:
        caller = current_caller()
        status = self._m.query_upload_status(request.upload_id, caller=caller)  # refused callers never wait
        if await self._open_uploads.settled(caller.tenant, request.upload_id):
            status = self._m.query_upload_status(request.upload_id, caller=caller)
        return wire.upload_status_to_pb(status)

    async def DownloadArtifact(  # type: ignore[override]  # data messages are wire bytes
        self, request: artifact_pb2.DownloadArtifactRequest, context: Context
    ) -> AsyncIterator[artifact_pb2.DownloadArtifactResponse | bytes]:
        """The artifact's metadata, then its data as DownloadArtifactResponse wire bytes."""
        artifact, pieces = self._m.read_artifact(
            request.artifact_id,
            request.offset,
            request.limit,
            session_id=request.session_id,
            name=request.name,
            version=request.version,
            caller=current_caller(),
        )
        yield artifact_pb2.DownloadArtifactResponse(artifact=artifact_to_pb(artifact))
        while True:
            # One worker-thread hop reads and verifies a few messages' worth of chunks.
            messages = await self._run(_gather_messages, pieces, DOWNLOAD_MESSAGE_BYTES, MESSAGES_PER_HOP)
            for message in messages:
                yield message  # wire bytes (see _gather_messages)
            if len(messages) < MESSAGES_PER_HOP:
                return

    def GetArtifact(self, request: artifact_pb2.GetArtifactRequest, context: Context) -> common_pb2.Artifact:
        artifact = self._m.get_artifact_info(
            request.artifact_id,
            session_id=request.session_id,
            name=request.name,
            version=request.version,
            caller=current_caller(),
        )
        return artifact_to_pb(artifact)

    def ListArtifacts(
        self, request: artifact_pb2.ListArtifactsRequest, context: Context
    ) -> artifact_pb2.ListArtifactsResponse:
        return wire.page_to_pb(self._m.list_artifacts(**wire.list_from_pb(request), caller=current_caller()))

    def DeleteArtifact(self, request: artifact_pb2.DeleteArtifactRequest, context: Context) -> empty_pb2.Empty:
        self._m.delete_artifact(request.artifact_id, caller=current_caller())
        return empty_pb2.Empty()

    def FindMissingChunks(
        self, request: artifact_pb2.FindMissingChunksRequest, context: Context
    ) -> artifact_pb2.FindMissingChunksResponse:
        missing = self._m.find_missing_chunks(list(request.digests), caller=current_caller())
        return artifact_pb2.FindMissingChunksResponse(missing_digests=missing)

    async def UploadChunks(
        self, request_iterator: AsyncIterator[artifact_pb2.UploadChunksRequest], context: Context
    ) -> artifact_pb2.UploadChunksResponse:
        staging = self._m.begin_chunk_upload(caller=current_caller())
        try:
            async for message in request_iterator:
                await self._run(staging.add, message.digest, message.data)
            chunks, stored = await self._run(staging.finish)
        except BaseException:
            staging.abort()
            raise
        return artifact_pb2.UploadChunksResponse(stored_chunks=chunks, stored_bytes=stored)

    def CommitArtifact(self, request: artifact_pb2.CommitArtifactRequest, context: Context) -> common_pb2.Artifact:
        return artifact_to_pb(self._m.commit_artifact(**wire.commit_from_pb(request), caller=current_caller()))

    def GetCapabilities(
        self, request: artifact_pb2.GetCapabilitiesRequest, context: Context
    ) -> artifact_pb2.GetCapabilitiesResponse:
        return wire.capabilities_to_pb(self._m.capabilities(), self._max_message_size)

    def GetStorageStats(
        self, request: artifact_pb2.GetStorageStatsRequest, context: Context
    ) -> artifact_pb2.GetStorageStatsResponse:
        return wire.stats_to_pb(self._m.get_storage_stats(request.session_id, caller=current_caller()))


def _gather_messages(pieces: Iterator[bytes], target: int, count: int) -> list[bytes]:
    """Up to count DownloadArtifactResponse messages of about target bytes of data each, as wire
    bytes joined from the verified pieces (the event loop sends them as they are); fewer (or the last
    one shorter) only at the end of the artifact."""
    messages: list[bytes] = []
    parts: list[bytes] = []
    size = 0
    for piece in pieces:
        parts.append(piece)
        size += len(piece)
        if size >= target:
            messages.append(data_message(parts, size))
            parts, size = [], 0
            if len(messages) == count:
                return messages
    if parts:
        messages.append(data_message(parts, size))
    return messages
