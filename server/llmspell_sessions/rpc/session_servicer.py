"""SessionService: decode the request, make one engine call, encode the answer.

The methods are plain functions: the interceptor runs them where the execution model says
(execution.py), so none of them blocks the event loop by itself.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator
from typing import Any, TypeAlias

import grpc
from google.protobuf import empty_pb2

from .._pb import common_pb2, session_pb2, session_pb2_grpc
from ..engine import SessionManager
from ..wire import batches, py_to_value_map, session_to_pb, value_map_to_py
from ..wire import sessions as wire
from ..wire.archives import ARCHIVE_PART_BYTES, import_report_to_pb
from .archive_stream import PartReader
from .backup_stream import stream_backup
from .execution import Execution
from .interceptors import current_caller

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


class SessionServicer(session_pb2_grpc.SessionServiceServicer):
    """Translates SessionService RPCs to SessionManager calls."""

    def __init__(self, manager: SessionManager, execution: Execution) -> None:
        self._m = manager
        self._run = execution.run

    async def BackupStore(
        self, request: session_pb2.BackupStoreRequest, context: Context
    ) -> AsyncIterator[session_pb2.BackupStorePart]:
        async for part in stream_backup(self._m, request, self._run):
            yield part

    def CreateSession(self, request: session_pb2.CreateSessionRequest, context: Context) -> common_pb2.Session:
        return session_to_pb(self._m.new_session(**wire.create_from_pb(request), caller=current_caller()))

    def GetSession(self, request: session_pb2.GetSessionRequest, context: Context) -> common_pb2.Session:
        return session_to_pb(self._m.get_session(request.session_id, caller=current_caller()))

    def ListSessions(
        self, request: session_pb2.ListSessionsRequest, context: Context
    ) -> session_pb2.ListSessionsResponse:
        return wire.page_to_pb(self._m.list_sessions(**wire.list_from_pb(request), caller=current_caller()))

    def UpdateSession(self, request: session_pb2.UpdateSessionRequest, context: Context) -> common_pb2.Session:
        return session_to_pb(self._m.update_session(**wire.update_from_pb(request), caller=current_caller()))

    def SuspendSession(self, request: session_pb2.SuspendSessionRequest, context: Context) -> common_pb2.Session:
        return session_to_pb(self._m.suspend_session(request.session_id, etag=request.etag, caller=current_caller()))

    def ResumeSession(self, request: session_pb2.ResumeSessionRequest, context: Context) -> common_pb2.Session:
        return session_to_pb(self._m.resume_session(request.session_id, etag=request.etag, caller=current_caller()))

    def CompleteSession(self, request: session_pb2.CompleteSessionRequest, context: Context) -> common_pb2.Session:
        session = self._m.complete_session(request.session_id, etag=request.etag, caller=current_caller())
        return session_to_pb(session)

    def FailSession(self, request: session_pb2.FailSessionRequest, context: Context) -> common_pb2.Session:
        session = self._m.fail_session(request.session_id, request.reason, etag=request.etag, caller=current_caller())
        return session_to_pb(session)

    def ArchiveSession(self, request: session_pb2.ArchiveSessionRequest, context: Context) -> common_pb2.Session:
        return session_to_pb(self._m.archive_session(request.session_id, etag=request.etag, caller=current_caller()))

    def DeleteSession(self, request: session_pb2.DeleteSessionRequest, context: Context) -> empty_pb2.Empty:
        self._m.delete_session(request.session_id, etag=request.etag, caller=current_caller())
        return empty_pb2.Empty()

    def BulkSessionAction(
        self, request: session_pb2.BulkSessionActionRequest, context: Context
    ) -> session_pb2.BulkSessionActionResponse:
        result = self._m.bulk_session_action(**wire.bulk_from_pb(request), caller=current_caller())
        return wire.bulk_result_to_pb(result)

    def SaveSession(self, request: session_pb2.SaveSessionRequest, context: Context) -> common_pb2.Session:
        return session_to_pb(self._m.save_session(request.session_id, caller=current_caller()))

    def LoadSession(self, request: session_pb2.LoadSessionRequest, context: Context) -> session_pb2.LoadSessionResponse:
        return wire.loaded_to_pb(self._m.load_session(request.session_id, caller=current_caller()))

    def SetSessionState(self, request: session_pb2.SetSessionStateRequest, context: Context) -> common_pb2.Session:
        entries = value_map_to_py(request.entries)
        session = self._m.set_session_state(
            request.session_id, entries, request.delete_keys, etag=request.etag, caller=current_caller()
        )
        return session_to_pb(session)

    def GetSessionState(
        self, request: session_pb2.GetSessionStateRequest, context: Context
    ) -> session_pb2.GetSessionStateResponse:
        entries = self._m.get_session_state(request.session_id, request.keys, caller=current_caller())
        response = session_pb2.GetSessionStateResponse()
        py_to_value_map(entries, response.entries)
        return response

    def ApplyChanges(
        self, request: session_pb2.ApplyChangesRequest, context: Context
    ) -> session_pb2.ApplyChangesResponse:
        applied = self._m.apply_changes(**batches.apply_from_pb(request), caller=current_caller())
        return batches.applied_to_pb(applied)

    def ReadSession(self, request: session_pb2.ReadSessionRequest, context: Context) -> session_pb2.ReadSessionResponse:
        read = self._m.read_session(**batches.read_from_pb(request), caller=current_caller())
        return batches.session_read_to_pb(read)

    def GrantSessionAccess(
        self, request: session_pb2.GrantSessionAccessRequest, context: Context
    ) -> common_pb2.Session:
        return session_to_pb(self._m.grant_session_access(**wire.grant_from_pb(request), caller=current_caller()))

    def RevokeSessionAccess(
        self, request: session_pb2.RevokeSessionAccessRequest, context: Context
    ) -> common_pb2.Session:
        session = self._m.revoke_session_access(request.session_id, request.subject, caller=current_caller())
        return session_to_pb(session)

    async def ExportSessions(
        self, request: session_pb2.ExportSessionsRequest, context: Context
    ) -> AsyncIterator[session_pb2.ArchivePart]:
        with tempfile.TemporaryFile() as spool:
            await self._run(self._m.export_sessions, list(request.session_ids), spool, caller=current_caller())
            spool.seek(0)
            while data := await self._run(spool.read, ARCHIVE_PART_BYTES):
                yield session_pb2.ArchivePart(data=data)

    async def ImportSessions(
        self, request_iterator: AsyncIterator[session_pb2.ArchivePart], context: Context
    ) -> session_pb2.ImportSessionsResponse:
        source = PartReader(request_iterator, asyncio.get_running_loop())
        report = await self._run(self._m.import_sessions, source, caller=current_caller())
        return import_report_to_pb(report)
