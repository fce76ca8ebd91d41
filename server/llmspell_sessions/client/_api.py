"""The client's methods, written once: SessionClient runs them blocking, AsyncSessionClient awaits them.

Each method builds its request and a decoder; ``_call`` (defined by the two clients) sends it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from .._pb import session_pb2
from ..model import EventSpec, Session, SessionState
from ..wire import batches, py_to_value_map, session_from_pb, value_map_to_py
from ..wire import sessions as wire

T = TypeVar("T")


class ClientApi:
    """SessionService methods, named as in the embedded SessionManager."""

    def _call(self, service: str, method: str, request: Any, decode: Callable[[Any], T]) -> Any:
        raise NotImplementedError

    def _session(self, method: str, request: Any) -> Any:
        return self._call("session", method, request, session_from_pb)

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
        request = wire.create_to_pb(name, description, tags, metadata, parent_session_id, request_id)
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
        request = wire.create_to_pb(name, description, tags, metadata, parent_session_id, request_id)
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
        request = wire.list_to_pb(
            states,
            create_time_after,
            create_time_before,
            page_size=page_size,
            page_token=page_token,
            tags=list(tags),
            parent_session_id=parent_session_id,
            created_by=created_by,
            search=search,
            order_by=order_by,
        )
        return self._call("session", "ListSessions", request, wire.page_from_pb)

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
        changes = {"name": name, "description": description, "tags": tags, "metadata": metadata}
        request = wire.update_to_pb(session_id, etag, **changes)
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

    def bulk_session_action(
        self,
        action: str,
        *,
        states: Iterable[SessionState] = (),
        tags: Iterable[str] = (),
        parent_session_id: str = "",
        created_by: str = "",
        create_time_after: datetime | None = None,
        create_time_before: datetime | None = None,
        search: str = "",
        reason: str = "",
        dry_run: bool = False,
        page_size: int = 0,
        page_token: str = "",
    ) -> Any:
        """ "complete", "fail", "archive" or "delete" one page of the sessions the filters select
        (a BulkResult: changed ids, skipped ones with reasons, the next page's token)."""
        request = wire.bulk_to_pb(
            action,
            reason=reason,
            dry_run=dry_run,
            page_size=page_size,
            page_token=page_token,
            states=states,
            tags=list(tags),
            parent_session_id=parent_session_id,
            created_by=created_by,
            create_time_after=create_time_after,
            create_time_before=create_time_before,
            search=search,
        )
        return self._call("session", "BulkSessionAction", request, wire.bulk_result_from_pb)

    def save_session(self, session_id: str) -> Any:
        return self._session("SaveSession", session_pb2.SaveSessionRequest(session_id=session_id))

    def load_session(self, session_id: str) -> Any:
        """The whole restorable session: record, state and latest artifacts."""
        request = session_pb2.LoadSessionRequest(session_id=session_id)
        return self._call("session", "LoadSession", request, wire.loaded_from_pb)

    def set_session_state(
        self,
        session_id: str,
        entries: Mapping[str, Any] | None = None,
        delete_keys: Iterable[str] = (),
        *,
        etag: str = "",
    ) -> Any:
        request = session_pb2.SetSessionStateRequest(session_id=session_id, delete_keys=list(delete_keys), etag=etag)
        py_to_value_map(entries or {}, request.entries)
        return self._session("SetSessionState", request)

    def grant_session_access(self, session_id: str, subject: str, access: str = "read") -> Any:
        """Admins only: lets another subject of the tenant "read" or "write" the session."""
        return self._session("GrantSessionAccess", wire.grant_to_pb(session_id, subject, access))

    def revoke_session_access(self, session_id: str, subject: str) -> Any:
        """Admins only: takes a subject's grant back."""
        request = session_pb2.RevokeSessionAccessRequest(session_id=session_id, subject=subject)
        return self._session("RevokeSessionAccess", request)

    def apply_changes(
        self,
        session_id: str,
        entries: Mapping[str, Any] | None = None,
        delete_keys: Iterable[str] = (),
        events: Sequence[EventSpec | Mapping[str, Any]] = (),
        *,
        create_entries: Mapping[str, Any] | None = None,
        expected_last_seq: int | None = None,
        etag: str = "",
        request_id: str = "",
    ) -> Any:
        """ChangesApplied: state sets, create-only sets, deletes and events in one atomic call."""
        request = batches.apply_to_pb(
            session_id,
            entries,
            delete_keys,
            events,
            create_entries=create_entries,
            expected_last_seq=expected_last_seq,
            etag=etag,
            request_id=request_id,
        )
        return self._call("session", "ApplyChanges", request, batches.applied_from_pb)

    def read_session(
        self,
        session_id: str,
        *,
        state_keys: Iterable[str] = (),
        state_prefix: str = "",
        reverse: bool = False,
        start_after: str = "",
        page_size: int = 0,
        page_token: str = "",
        last_events: int = 0,
        event_types: Iterable[str] = (),
        artifact_names: Iterable[str] = (),
        related_session_ids: Iterable[str] = (),
    ) -> Any:
        """SessionRead: record, keys, a page under a prefix, related states, last events, latest
        artifacts, one call."""
        request = batches.read_to_pb(
            session_id,
            state_keys=list(state_keys),
            state_prefix=state_prefix,
            reverse=reverse,
            start_after=start_after,
            page_size=page_size,
            page_token=page_token,
            last_events=last_events,
            event_types=list(event_types),
            artifact_names=list(artifact_names),
            related_session_ids=list(related_session_ids),
        )
        return self._call("session", "ReadSession", request, batches.session_read_from_pb)

    def get_session_state(self, session_id: str, keys: Iterable[str] = ()) -> Any:
        request = session_pb2.GetSessionStateRequest(session_id=session_id, keys=list(keys))
        return self._call("session", "GetSessionState", request, lambda pb: value_map_to_py(pb.entries))


__all__ = ["ClientApi", "Session"]
