"""SessionService: decode the request, make one engine call, encode the answer."""

from __future__ import annotations

import asyncio
from typing import Any, TypeAlias

import grpc
from google.protobuf import empty_pb2

from .._pb import common_pb2, session_pb2, session_pb2_grpc
from ..engine import SessionManager
from ..errors import InvalidArgument
from ..model import SessionState
from . import convert
from .interceptors import current_caller

Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"
_MASK_PATHS = ("name", "description", "tags", "metadata")


class SessionServicer(session_pb2_grpc.SessionServiceServicer):
    """Translates SessionService RPCs to SessionManager calls."""

    def __init__(self, manager: SessionManager) -> None:
        self._m = manager

    async def CreateSession(self, request: session_pb2.CreateSessionRequest, context: Context) -> common_pb2.Session:
        session = self._m.new_session(
            request.name,
            request.description,
            request.tags,
            convert.struct_to_py(request.metadata),
            request.parent_session_id,
            request.request_id,
            caller=current_caller(),
        )
        return convert.session_to_pb(session)

    async def GetSession(self, request: session_pb2.GetSessionRequest, context: Context) -> common_pb2.Session:
        return convert.session_to_pb(self._m.get_session(request.session_id, caller=current_caller()))

    async def ListSessions(
        self, request: session_pb2.ListSessionsRequest, context: Context
    ) -> session_pb2.ListSessionsResponse:
        page = self._m.list_sessions(
            page_size=request.page_size,
            page_token=request.page_token,
            states=[convert.enum_from_pb(SessionState, s, "states") for s in request.states],
            tags=request.tags,
            parent_session_id=request.parent_session_id,
            created_by=request.created_by,
            create_time_after=convert.from_timestamp(request.create_time_after, request.HasField("create_time_after")),
            create_time_before=convert.from_timestamp(
                request.create_time_before, request.HasField("create_time_before")
            ),
            search=request.search,
            order_by=request.order_by,
            caller=current_caller(),
        )
        response = session_pb2.ListSessionsResponse(next_page_token=page.next_page_token, total_size=page.total_size)
        for session in page.items:
            convert.session_to_pb(session, response.sessions.add())
        return response

    async def UpdateSession(self, request: session_pb2.UpdateSessionRequest, context: Context) -> common_pb2.Session:
        paths = list(request.update_mask.paths) or list(_MASK_PATHS)
        unknown = [p for p in paths if p not in _MASK_PATHS]
        if unknown:
            raise InvalidArgument(f"update_mask paths {unknown} are not updatable {_MASK_PATHS}", field="update_mask")
        given = request.session
        fields: dict[str, Any] = {
            "name": given.name,
            "description": given.description,
            "tags": list(given.tags),
            "metadata": convert.struct_to_py(given.metadata),
        }
        session = self._m.update_session(
            given.session_id, etag=given.etag, caller=current_caller(), **{p: fields[p] for p in paths}
        )
        return convert.session_to_pb(session)

    async def SuspendSession(self, request: session_pb2.SuspendSessionRequest, context: Context) -> common_pb2.Session:
        return convert.session_to_pb(
            self._m.suspend_session(request.session_id, etag=request.etag, caller=current_caller())
        )

    async def ResumeSession(self, request: session_pb2.ResumeSessionRequest, context: Context) -> common_pb2.Session:
        return convert.session_to_pb(
            self._m.resume_session(request.session_id, etag=request.etag, caller=current_caller())
        )

    async def CompleteSession(
        self, request: session_pb2.CompleteSessionRequest, context: Context
    ) -> common_pb2.Session:
        return convert.session_to_pb(
            self._m.complete_session(request.session_id, etag=request.etag, caller=current_caller())
        )

    async def FailSession(self, request: session_pb2.FailSessionRequest, context: Context) -> common_pb2.Session:
        return convert.session_to_pb(
            self._m.fail_session(request.session_id, request.reason, etag=request.etag, caller=current_caller())
        )

    async def ArchiveSession(self, request: session_pb2.ArchiveSessionRequest, context: Context) -> common_pb2.Session:
        return convert.session_to_pb(
            self._m.archive_session(request.session_id, etag=request.etag, caller=current_caller())
        )

    async def DeleteSession(self, request: session_pb2.DeleteSessionRequest, context: Context) -> empty_pb2.Empty:
        self._m.delete_session(request.session_id, etag=request.etag, caller=current_caller())
        return empty_pb2.Empty()

    async def SaveSession(self, request: session_pb2.SaveSessionRequest, context: Context) -> common_pb2.Session:
        # The fsync runs off the event loop so other calls keep being served meanwhile.
        session = await asyncio.to_thread(self._m.save_session, request.session_id, caller=current_caller())
        return convert.session_to_pb(session)

    async def LoadSession(
        self, request: session_pb2.LoadSessionRequest, context: Context
    ) -> session_pb2.LoadSessionResponse:
        loaded = self._m.load_session(request.session_id, caller=current_caller())
        response = session_pb2.LoadSessionResponse()
        convert.session_to_pb(loaded.session, response.session)
        convert.py_to_value_map(loaded.state, response.state)
        for artifact in loaded.artifacts:
            convert.artifact_to_pb(artifact, response.artifacts.add())
        return response

    async def SetSessionState(
        self, request: session_pb2.SetSessionStateRequest, context: Context
    ) -> common_pb2.Session:
        session = self._m.set_session_state(
            request.session_id,
            convert.value_map_to_py(request.entries),
            request.delete_keys,
            etag=request.etag,
            caller=current_caller(),
        )
        return convert.session_to_pb(session)

    async def GetSessionState(
        self, request: session_pb2.GetSessionStateRequest, context: Context
    ) -> session_pb2.GetSessionStateResponse:
        entries = self._m.get_session_state(request.session_id, request.keys, caller=current_caller())
        response = session_pb2.GetSessionStateResponse()
        convert.py_to_value_map(entries, response.entries)
        return response

    async def GrantSessionAccess(
        self, request: session_pb2.GrantSessionAccessRequest, context: Context
    ) -> common_pb2.Session:
        if request.access not in convert.ACCESS_FROM_PB:
            raise InvalidArgument("access must be SESSION_ACCESS_READ or SESSION_ACCESS_WRITE", field="access")
        access = convert.ACCESS_FROM_PB[request.access]
        session = self._m.grant_session_access(request.session_id, request.subject, access, caller=current_caller())
        return convert.session_to_pb(session)

    async def RevokeSessionAccess(
        self, request: session_pb2.RevokeSessionAccessRequest, context: Context
    ) -> common_pb2.Session:
        session = self._m.revoke_session_access(request.session_id, request.subject, caller=current_caller())
        return convert.session_to_pb(session)
