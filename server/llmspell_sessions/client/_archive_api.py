"""Archive calls of the clients: ExportSessions into a file, ImportSessions from one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any, BinaryIO

import grpc

from .._pb import session_pb2
from ..model import ImportReport
from ..wire.archives import ARCHIVE_PART_BYTES, archive_parts, import_report_from_pb
from .errors import error_from_rpc, error_from_status


class SyncArchives:
    """Mixed into SessionClient: needs ``stub()`` and ``options``."""

    def export_sessions(self, session_ids: Sequence[str], out: BinaryIO) -> None:
        """Writes the sessions (with history and content) to out as one archive file."""
        request = session_pb2.ExportSessionsRequest(session_ids=list(session_ids))
        stub = self.stub("session")  # type: ignore[attr-defined]
        try:
            for part in stub.ExportSessions(request, metadata=self.options.metadata()):  # type: ignore[attr-defined]
                out.write(part.data)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None

    def import_sessions(self, src: BinaryIO) -> ImportReport:
        """Imports an archive file into the caller's tenant; returns what was created and skipped."""
        stub = self.stub("session")  # type: ignore[attr-defined]
        try:
            response = stub.ImportSessions(archive_parts(src), metadata=self.options.metadata())  # type: ignore[attr-defined]
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        return import_report_from_pb(response)


class AsyncArchives:
    """Mixed into AsyncSessionClient: needs ``stub()`` and ``options``."""

    async def export_sessions(self, session_ids: Sequence[str], out: BinaryIO) -> None:
        """Writes the sessions (with history and content) to out as one archive file."""
        request = session_pb2.ExportSessionsRequest(session_ids=list(session_ids))
        stream = self.stub("session").ExportSessions(request, metadata=self.options.metadata())  # type: ignore[attr-defined]
        try:
            async for part in stream:
                await asyncio.to_thread(out.write, part.data)
        except grpc.aio.AioRpcError as exc:
            raise error_from_status(exc.code(), exc.details() or "", exc.trailing_metadata()) from None

    async def import_sessions(self, src: BinaryIO) -> ImportReport:
        """Imports an archive file into the caller's tenant; returns what was created and skipped."""

        async def parts() -> AsyncIterator[Any]:
            while data := await asyncio.to_thread(src.read, ARCHIVE_PART_BYTES):
                yield session_pb2.ArchivePart(data=data)

        stub = self.stub("session")  # type: ignore[attr-defined]
        try:
            response = await stub.ImportSessions(parts(), metadata=self.options.metadata())  # type: ignore[attr-defined]
        except grpc.aio.AioRpcError as exc:
            raise error_from_status(exc.code(), exc.details() or "", exc.trailing_metadata()) from None
        return import_report_from_pb(response)
