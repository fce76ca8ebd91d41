"""Streaming artifact calls of the asyncio client."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import grpc

from .._pb import artifact_pb2
from ..model import Artifact, ArtifactType, UploadHeader
from ..wire import artifact_from_pb
from ..wire.artifacts import header_to_pb
from ..wire.raw import data_message, data_of
from ._artifact_api import make_header
from ._calls import download_call, upload_call
from .errors import error_from_status
from .transfer import Progress, VerifiedFile, read_file, upload_requests


class AsyncStreams:
    """Mixed into AsyncSessionClient: needs ``stub()``, ``channel`` and ``options``."""

    async def upload_artifact(self, header: UploadHeader, source: Iterable[bytes] | AsyncIterator[bytes]) -> Artifact:
        """Streams the source's byte strings as one artifact."""

        async def messages() -> AsyncIterator[artifact_pb2.UploadArtifactRequest | bytes]:
            if not hasattr(source, "__aiter__"):
                for message in upload_requests(header, iter(source)):  # type: ignore[arg-type]
                    yield message
                return
            yield artifact_pb2.UploadArtifactRequest(header=header_to_pb(header))
            async for data in source:  # type: ignore[union-attr]
                yield data_message((data,), len(data))

        try:
            response = await upload_call(self.channel)(messages(), metadata=self.options.metadata())  # type: ignore[attr-defined]
        except grpc.aio.AioRpcError as exc:
            raise error_from_status(exc.code(), exc.details() or "", exc.trailing_metadata()) from None
        return artifact_from_pb(response)

    async def upload_file(
        self,
        session_id: str,
        path: str | os.PathLike[str],
        name: str = "",
        artifact_type: ArtifactType = ArtifactType.USER_INPUT,
        *,
        progress: Progress | None = None,
        **fields: Any,
    ) -> Artifact:
        """Streams a file as an artifact in 1 MiB messages."""
        path = Path(path)
        header = make_header(session_id, name or path.name, artifact_type, **fields)
        header.expected_size = os.path.getsize(path)
        return await self.upload_artifact(header, read_file(path, header.write_offset, progress))

    async def download_artifact(
        self, artifact_id: str = "", offset: int = 0, limit: int = 0, *, session_id: str = "", name: str = "",
        version: int = 0,
    ) -> tuple[Artifact, AsyncIterator[bytes]]:  # fmt: skip
        """Metadata and an async iterator over the bytes of an artifact named by id, or by session,
        name and version (0 = latest)."""
        request = artifact_pb2.DownloadArtifactRequest(
            artifact_id=artifact_id, offset=offset, limit=limit, session_id=session_id, name=name, version=version
        )
        stream = download_call(self.channel)(request, metadata=self.options.metadata())  # type: ignore[attr-defined]
        try:
            first = await stream.read()
        except grpc.aio.AioRpcError as exc:
            raise error_from_status(exc.code(), exc.details() or "", exc.trailing_metadata()) from None

        async def data() -> AsyncIterator[bytes]:
            try:
                while (message := await stream.read()) is not grpc.aio.EOF:
                    yield data_of(message)
            except grpc.aio.AioRpcError as exc:
                raise error_from_status(exc.code(), exc.details() or "", exc.trailing_metadata()) from None

        return artifact_from_pb(first.artifact), data()

    async def get_artifact(
        self, session_id: str, artifact_id: str = "", *, name: str = "", version: int = 0
    ) -> tuple[Artifact, bytes]:
        """An artifact with all its bytes, by id or by name and version (0 = latest): one call."""
        artifact, pieces = await self.download_artifact(artifact_id, session_id=session_id, name=name, version=version)
        if artifact.session_id != session_id:
            from ..errors import ArtifactNotFound

            raise ArtifactNotFound(f"artifact {artifact.artifact_id} is not in session {session_id}")
        return artifact, b"".join([piece async for piece in pieces])

    async def download_file(
        self, artifact_id: str, path: str | os.PathLike[str], progress: Progress | None = None
    ) -> Artifact:
        """Writes the artifact to path (via a temporary file) and checks its BLAKE3 digest."""
        artifact, pieces = await self.download_artifact(artifact_id)
        target = VerifiedFile(path, artifact, progress)
        async for data in pieces:
            await asyncio.to_thread(target.write, data)
        return target.finish()
