"""ArtifactService: decode, one engine call (or a stream of them), encode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any, TypeAlias

import grpc
from google.protobuf import empty_pb2

from .._pb import artifact_pb2, artifact_pb2_grpc, common_pb2
from ..engine import SessionManager
from ..errors import InvalidArgument
from ..model import ArtifactType, UploadHeader
from . import convert
from .interceptors import current_caller

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
# 2 MiB: fewer sends than 1 MiB, and under the 4 MiB receive limit most gRPC clients default to.
DOWNLOAD_MESSAGE_BYTES = 2 * 1024 * 1024
HANDOFF_BYTES = 4 * 1024 * 1024  # bytes received before a batch goes to a worker thread
MESSAGES_PER_HOP = 4
CANCEL_SETTLE_TURNS = 4
EMPTY_UPLOAD_SETTLE_SECONDS = 0.005


def header_from_pb(pb: artifact_pb2.UploadHeader) -> UploadHeader:
    return UploadHeader(
        session_id=pb.session_id,
        name=pb.name,
        type=convert.enum_from_pb(ArtifactType, pb.type, "type"),
        custom_type=pb.custom_type,
        description=pb.description,
        tags=list(pb.tags),
        mime_type=pb.mime_type,
        metadata=convert.struct_to_py(pb.metadata),
        parent_artifact_id=pb.parent_artifact_id,
        expected_size=pb.expected_size,
        expected_digest=pb.expected_digest,
        upload_id=pb.upload_id,
        write_offset=pb.write_offset,
        request_id=pb.request_id,
    )


class ArtifactServicer(artifact_pb2_grpc.ArtifactServiceServicer):
    """Translates ArtifactService RPCs to SessionManager calls."""

    def __init__(self, manager: SessionManager, max_message_size: int) -> None:
        self._m = manager
        self._max_message_size = max_message_size

    async def UploadArtifact(
        self, request_iterator: AsyncIterator[artifact_pb2.UploadArtifactRequest], context: Context
    ) -> common_pb2.Artifact:
        first = await anext(request_iterator, None)
        if first is None or first.WhichOneof("kind") != "header":
            raise InvalidArgument("the first message must be the header", field="header")
        upload = await asyncio.to_thread(self._m.begin_upload, header_from_pb(first.header), caller=current_caller())
        loop = asyncio.get_running_loop()
        pending: asyncio.Future[None] | None = None
        parts: list[bytes] = []
        size = 0
        try:
            async for message in request_iterator:
                if message.WhichOneof("kind") != "data":
                    raise InvalidArgument("only the first message may be a header", field="header")
                parts.append(message.data)
                size += len(message.data)
                if size < HANDOFF_BYTES:
                    continue
                if pending is not None:
                    await pending  # chunk/hash/compress batch N while batch N+1 arrives
                pending = loop.run_in_executor(None, upload.write_many, parts)
                parts, size = [], 0
            if pending is not None:
                await pending
            if parts:
                await asyncio.to_thread(upload.write_many, parts)
            await asyncio.to_thread(upload.seal)
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
        except BaseException:
            if pending is not None and not pending.done():
                await asyncio.wait([pending])
            upload.abort()
            raise
        return convert.artifact_to_pb(artifact)

    async def StoreArtifact(self, request: artifact_pb2.StoreArtifactRequest, context: Context) -> common_pb2.Artifact:
        header = header_from_pb(request.header)
        artifact = await asyncio.to_thread(self._m.put_artifact, header, request.content, caller=current_caller())
        return convert.artifact_to_pb(artifact)

    async def QueryUploadStatus(
        self, request: artifact_pb2.QueryUploadStatusRequest, context: Context
    ) -> artifact_pb2.QueryUploadStatusResponse:
        status = self._m.query_upload_status(request.upload_id, caller=current_caller())
        return artifact_pb2.QueryUploadStatusResponse(
            committed_size=status.committed_size, complete=status.complete, artifact_id=status.artifact_id
        )

    async def DownloadArtifact(
        self, request: artifact_pb2.DownloadArtifactRequest, context: Context
    ) -> AsyncIterator[artifact_pb2.DownloadArtifactResponse]:
        artifact, pieces = self._m.read_artifact(
            request.artifact_id, request.offset, request.limit, caller=current_caller()
        )
        yield artifact_pb2.DownloadArtifactResponse(artifact=convert.artifact_to_pb(artifact))
        while True:
            # One worker-thread hop reads and verifies a few messages' worth of chunks.
            messages = await asyncio.to_thread(_gather_messages, pieces, DOWNLOAD_MESSAGE_BYTES, MESSAGES_PER_HOP)
            for data in messages:
                yield artifact_pb2.DownloadArtifactResponse(data=data)
            if len(messages) < MESSAGES_PER_HOP:
                return

    async def GetArtifact(self, request: artifact_pb2.GetArtifactRequest, context: Context) -> common_pb2.Artifact:
        artifact = self._m.get_artifact_info(
            request.artifact_id,
            session_id=request.session_id,
            name=request.name,
            version=request.version,
            caller=current_caller(),
        )
        return convert.artifact_to_pb(artifact)

    async def ListArtifacts(
        self, request: artifact_pb2.ListArtifactsRequest, context: Context
    ) -> artifact_pb2.ListArtifactsResponse:
        page = self._m.list_artifacts(
            request.session_id,
            types=[convert.enum_from_pb(ArtifactType, t, "types") for t in request.types],
            tags=request.tags,
            name_pattern=request.name_pattern,
            mime_type=request.mime_type,
            min_size=request.min_size,
            max_size=request.max_size,
            create_time_after=convert.from_timestamp(request.create_time_after, request.HasField("create_time_after")),
            create_time_before=convert.from_timestamp(
                request.create_time_before, request.HasField("create_time_before")
            ),
            all_versions=request.all_versions,
            order_by=request.order_by,
            page_size=request.page_size,
            page_token=request.page_token,
            caller=current_caller(),
        )
        response = artifact_pb2.ListArtifactsResponse(next_page_token=page.next_page_token, total_size=page.total_size)
        for artifact in page.items:
            convert.artifact_to_pb(artifact, response.artifacts.add())
        return response

    async def DeleteArtifact(self, request: artifact_pb2.DeleteArtifactRequest, context: Context) -> empty_pb2.Empty:
        self._m.delete_artifact(request.artifact_id, caller=current_caller())
        return empty_pb2.Empty()

    async def FindMissingChunks(
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
                await asyncio.to_thread(staging.add, message.digest, message.data)
            chunks, stored = await asyncio.to_thread(staging.finish)
        except BaseException:
            staging.abort()
            raise
        return artifact_pb2.UploadChunksResponse(stored_chunks=chunks, stored_bytes=stored)

    async def CommitArtifact(
        self, request: artifact_pb2.CommitArtifactRequest, context: Context
    ) -> common_pb2.Artifact:
        chunks = [(c.digest, c.size) for c in request.chunks]
        artifact = await asyncio.to_thread(
            self._m.commit_artifact,
            header_from_pb(request.header),
            chunks,
            request.content_digest,
            caller=current_caller(),
        )
        return convert.artifact_to_pb(artifact)

    async def GetCapabilities(
        self, request: artifact_pb2.GetCapabilitiesRequest, context: Context
    ) -> artifact_pb2.GetCapabilitiesResponse:
        caps = self._m.capabilities()
        chunking = caps.pop("chunking")
        response = artifact_pb2.GetCapabilitiesResponse(max_message_size=self._max_message_size, **caps)
        response.chunking.CopyFrom(artifact_pb2.ChunkingParameters(**chunking))
        return response

    async def GetStorageStats(
        self, request: artifact_pb2.GetStorageStatsRequest, context: Context
    ) -> artifact_pb2.GetStorageStatsResponse:
        stats = await asyncio.to_thread(self._m.get_storage_stats, request.session_id, caller=current_caller())
        return artifact_pb2.GetStorageStatsResponse(
            artifact_count=stats.artifact_count,
            logical_bytes=stats.logical_bytes,
            stored_bytes=stats.stored_bytes,
            unique_chunks=stats.unique_chunks,
            dedup_ratio=stats.dedup_ratio,
            compression_ratio=stats.compression_ratio,
        )


def _gather_messages(pieces: Iterator[bytes], target: int, count: int) -> list[bytes]:
    """Up to count messages of about target bytes each, joined from the verified pieces; fewer
    (or the last one shorter) only at the end of the artifact."""
    messages: list[bytes] = []
    parts: list[bytes] = []
    size = 0
    for piece in pieces:
        parts.append(piece)
        size += len(piece)
        if size >= target:
            messages.append(b"".join(parts))
            parts, size = [], 0
            if len(messages) == count:
                return messages
    if parts:
        messages.append(b"".join(parts))
    return messages
