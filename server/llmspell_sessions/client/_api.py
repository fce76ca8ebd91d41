"""The client's methods, written once: SessionClient runs them blocking, AsyncSessionClient awaits them.

Each method builds its request and a decoder; ``_call`` (defined by the two clients) sends it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from google.protobuf import field_mask_pb2

from .._pb import session_pb2
from ..model import LoadedSession, Page, Session, SessionState
from ..rpc import convert

T = TypeVar("T")


class ClientApi:
    """SessionService methods, named as in the embedded SessionManager."""

    def _call(self, service: str, method: str, request: Any, decode: Callable[[Any], T]) -> Any:
        raise NotImplementedError

    def _session(self, method: str, request: Any) -> Any:
        return self._call("session", method, request, convert.session_from_pb)

    def new_session(
        self,
        name: str = "",
        description: str = "",
        tags: Iterable[str] = (),
        metadata: Mapping[str, Any] | None = None,
        parent_session_id: str = "",
        request_id: str = "",
    ) -> Any:
        """Creates a session and returns its record."""
        request = _create_request(name, description, tags, metadata, parent_session_id, request_id)
        return self._session("CreateSession", request)

    def create_session(
        self,
        name: str = "",
        description: str = "",
        tags: Iterable[str] = (),
        metadata: Mapping[str, Any] | None = None,
        parent_session_id: str = "",
        request_id: str = "",
    ) -> Any:
        """Creates a session and returns its id."""
        request = _create_request(name, description, tags, metadata, parent_session_id, request_id)
        return self._call("session", "CreateSession", request, lambda pb: pb.session_id)

    def get_session(self, session_id: str) -> Any:
        return self._session("GetSession", session_pb2.GetSessionRequest(session_id=session_id))

    def list_sessions(
        self,
        page_size: int = 0,
        page_token: str = "",
        states: Iterable[SessionState] = (),
        tags: Iterable[str] = (),
        parent_session_id: str = "",
        created_by: str = "",
        create_time_after: datetime | None = None,
        create_time_before: datetime | None = None,
        search: str = "",
        order_by: str = "",
    ) -> Any:
        """One page of sessions (a Page of Session)."""
        request = session_pb2.ListSessionsRequest(
            page_size=page_size,
            page_token=page_token,
            states=[int(s) for s in states],  # type: ignore[misc]
            tags=list(tags),
            parent_session_id=parent_session_id,
            created_by=created_by,
            search=search,
            order_by=order_by,
        )
        if create_time_after is not None:
            request.create_time_after.FromDatetime(create_time_after)
        if create_time_before is not None:
            request.create_time_before.FromDatetime(create_time_before)

        def decode(pb: session_pb2.ListSessionsResponse) -> Page:
            return Page([convert.session_from_pb(s) for s in pb.sessions], pb.next_page_token, pb.total_size)

        return self._call("session", "ListSessions", request, decode)

    def update_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        etag: str = "",
    ) -> Any:
        """Changes the fields given (None = unchanged)."""
        request = session_pb2.UpdateSessionRequest(update_mask=field_mask_pb2.FieldMask())
        request.session.session_id = session_id
        request.session.etag = etag
        if name is not None:
            request.session.name = name
            request.update_mask.paths.append("name")
        if description is not None:
            request.session.description = description
            request.update_mask.paths.append("description")
        if tags is not None:
            request.session.tags.extend(tags)
            request.update_mask.paths.append("tags")
        if metadata is not None:
            convert.py_to_struct(metadata, request.session.metadata)
            request.update_mask.paths.append("metadata")
        return self._session("UpdateSession", request)

    def suspend_session(self, session_id: str, *, etag: str = "") -> Any:
        return self._session("SuspendSession", session_pb2.SuspendSessionRequest(session_id=session_id, etag=etag))

    def resume_session(self, session_id: str, *, etag: str = "") -> Any:
        return self._session("ResumeSession", session_pb2.ResumeSessionRequest(session_id=session_id, etag=etag))

    def complete_session(self, session_id: str, *, etag: str = "") -> Any:
        return self._session("CompleteSession", session_pb2.CompleteSessionRequest(session_id=session_id, etag=etag))

    def fail_session(self, session_id: str, reason: str = "", *, etag: str = "") -> Any:
        return self._session(
            "FailSession", session_pb2.FailSessionRequest(session_id=session_id, reason=reason, etag=etag)
        )

    def archive_session(self, session_id: str, *, etag: str = "") -> Any:
        return self._session("ArchiveSession", session_pb2.ArchiveSessionRequest(session_id=session_id, etag=etag))

    def delete_session(self, session_id: str, *, etag: str = "") -> Any:
        request = session_pb2.DeleteSessionRequest(session_id=session_id, etag=etag)
        return self._call("session", "DeleteSession", request, lambda pb: None)

    def save_session(self, session_id: str) -> Any:
        return self._session("SaveSession", session_pb2.SaveSessionRequest(session_id=session_id))

    def load_session(self, session_id: str) -> Any:
        """The whole restorable session: record, state and latest artifacts."""

        def decode(pb: session_pb2.LoadSessionResponse) -> LoadedSession:
            return LoadedSession(
                convert.session_from_pb(pb.session),
                convert.value_map_to_py(pb.state),
                [convert.artifact_from_pb(a) for a in pb.artifacts],
            )

        return self._call("session", "LoadSession", session_pb2.LoadSessionRequest(session_id=session_id), decode)

    def set_session_state(
        self,
        session_id: str,
        entries: Mapping[str, Any] | None = None,
        delete_keys: Iterable[str] = (),
        *,
        etag: str = "",
    ) -> Any:
        request = session_pb2.SetSessionStateRequest(session_id=session_id, delete_keys=list(delete_keys), etag=etag)
        convert.py_to_value_map(entries or {}, request.entries)
        return self._session("SetSessionState", request)

    def grant_session_access(self, session_id: str, subject: str, access: str = "read") -> Any:
        """Admins only: lets another subject of the tenant "read" or "write" the session."""
        return self._session("GrantSessionAccess", _access_request(session_id, subject, access))

    def revoke_session_access(self, session_id: str, subject: str) -> Any:
        """Admins only: takes a subject's grant back."""
        request = session_pb2.RevokeSessionAccessRequest(session_id=session_id, subject=subject)
        return self._session("RevokeSessionAccess", request)

    def get_session_state(self, session_id: str, keys: Iterable[str] = ()) -> Any:
        request = session_pb2.GetSessionStateRequest(session_id=session_id, keys=list(keys))
        return self._call("session", "GetSessionState", request, lambda pb: convert.value_map_to_py(pb.entries))


def _access_request(session_id: str, subject: str, access: str) -> session_pb2.GrantSessionAccessRequest:
    number = convert.ACCESS_TO_PB.get(access, 0)
    return session_pb2.GrantSessionAccessRequest(
        session_id=session_id,
        subject=subject,
        access=number,  # type: ignore[arg-type]
    )


def _create_request(
    name: str,
    description: str,
    tags: Iterable[str],
    metadata: Mapping[str, Any] | None,
    parent_session_id: str,
    request_id: str,
) -> session_pb2.CreateSessionRequest:
    request = session_pb2.CreateSessionRequest(
        name=name,
        description=description,
        tags=list(tags),
        parent_session_id=parent_session_id,
        request_id=request_id,
    )
    convert.py_to_struct(metadata or {}, request.metadata)
    return request


__all__ = ["ClientApi", "Session"]
