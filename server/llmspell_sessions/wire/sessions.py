"""SessionService messages that carry more than ids: create, list, update, load, grant; both directions.

A request decodes to the keyword arguments of its SessionManager method, so the servicer passes
them on unchanged and the client builds the request from the same names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from google.protobuf import field_mask_pb2

from .._pb import session_pb2
from ..errors import InvalidArgument
from ..model import UPDATABLE_SESSION_FIELDS, BulkResult, BulkSkip, LoadedSession, Page, SessionState
from .records import ACCESS_FROM_PB, ACCESS_TO_PB, artifact_from_pb, artifact_to_pb, session_from_pb, session_to_pb
from .values import (
    enum_from_pb,
    filter_time_from_pb,
    filter_time_to_pb,
    py_to_struct,
    py_to_value_map,
    struct_to_py,
    value_map_to_py,
)

UPDATABLE = UPDATABLE_SESSION_FIELDS


def create_to_pb(
    name: str = "",
    description: str = "",
    tags: Iterable[str] = (),
    metadata: Mapping[str, Any] | None = None,
    parent_session_id: str = "",
    request_id: str = "",
) -> session_pb2.CreateSessionRequest:
    """A CreateSessionRequest from new_session's arguments."""
    request = session_pb2.CreateSessionRequest(
        name=name, description=description, tags=list(tags), parent_session_id=parent_session_id, request_id=request_id
    )
    py_to_struct(metadata or {}, request.metadata)
    return request


def create_from_pb(request: session_pb2.CreateSessionRequest) -> dict[str, Any]:
    """new_session's arguments from a CreateSessionRequest."""
    return {
        "name": request.name,
        "description": request.description,
        "tags": list(request.tags),
        "metadata": struct_to_py(request.metadata),
        "parent_session_id": request.parent_session_id,
        "request_id": request.request_id,
    }


def list_to_pb(
    states: Iterable[SessionState] = (), create_time_after: Any = None, create_time_before: Any = None, **fields: Any
) -> session_pb2.ListSessionsRequest:
    """A ListSessionsRequest from list_sessions' arguments."""
    request = session_pb2.ListSessionsRequest(states=[int(s) for s in states], **fields)  # type: ignore[misc]
    filter_time_to_pb(create_time_after, request, "create_time_after")
    filter_time_to_pb(create_time_before, request, "create_time_before")
    return request


def list_from_pb(request: session_pb2.ListSessionsRequest) -> dict[str, Any]:
    """list_sessions' arguments from a ListSessionsRequest (InvalidArgument for bad enums or times)."""
    return {
        "page_size": request.page_size,
        "page_token": request.page_token,
        "states": [enum_from_pb(SessionState, s, "states") for s in request.states],
        "tags": list(request.tags),
        "parent_session_id": request.parent_session_id,
        "created_by": request.created_by,
        "create_time_after": filter_time_from_pb(request, "create_time_after"),
        "create_time_before": filter_time_from_pb(request, "create_time_before"),
        "search": request.search,
        "order_by": request.order_by,
    }


def page_to_pb(page: Page) -> session_pb2.ListSessionsResponse:
    """A ListSessionsResponse for a page of sessions."""
    response = session_pb2.ListSessionsResponse(next_page_token=page.next_page_token, total_size=page.total_size)
    for session in page.items:
        session_to_pb(session, response.sessions.add())
    return response


def page_from_pb(pb: session_pb2.ListSessionsResponse) -> Page:
    """The page of sessions a ListSessionsResponse carries."""
    return Page([session_from_pb(s) for s in pb.sessions], pb.next_page_token, pb.total_size)


def update_to_pb(session_id: str, etag: str = "", **changes: Any) -> session_pb2.UpdateSessionRequest:
    """An UpdateSessionRequest whose mask names exactly the fields given (None = unchanged)."""
    request = session_pb2.UpdateSessionRequest(update_mask=field_mask_pb2.FieldMask())
    request.session.session_id, request.session.etag = session_id, etag
    for path in UPDATABLE:
        value = changes.get(path)
        if value is None:
            continue
        request.update_mask.paths.append(path)
        if path == "tags":
            request.session.tags.extend(value)
        elif path == "metadata":
            py_to_struct(value, request.session.metadata)
        else:
            setattr(request.session, path, value)
    return request


def update_from_pb(request: session_pb2.UpdateSessionRequest) -> dict[str, Any]:
    """update_session's arguments: the masked fields only (an empty mask means all of them)."""
    paths = list(request.update_mask.paths) or list(UPDATABLE)
    unknown = [p for p in paths if p not in UPDATABLE]
    if unknown:
        raise InvalidArgument(f"update_mask paths {unknown} are not updatable {UPDATABLE}", field="update_mask")
    given = request.session
    fields = {
        "name": given.name,
        "description": given.description,
        "tags": list(given.tags),
        "metadata": struct_to_py(given.metadata),
    }
    return {"session_id": given.session_id, "etag": given.etag, **{p: fields[p] for p in paths}}


def loaded_to_pb(loaded: LoadedSession) -> session_pb2.LoadSessionResponse:
    """A LoadSessionResponse: record, state and latest artifacts."""
    response = session_pb2.LoadSessionResponse()
    session_to_pb(loaded.session, response.session)
    py_to_value_map(loaded.state, response.state)
    for artifact in loaded.artifacts:
        artifact_to_pb(artifact, response.artifacts.add())
    return response


def loaded_from_pb(pb: session_pb2.LoadSessionResponse) -> LoadedSession:
    """The LoadedSession a LoadSessionResponse carries."""
    return LoadedSession(
        session_from_pb(pb.session), value_map_to_py(pb.state), [artifact_from_pb(a) for a in pb.artifacts]
    )


def grant_to_pb(session_id: str, subject: str, access: str) -> session_pb2.GrantSessionAccessRequest:
    """A GrantSessionAccessRequest ("read" or "write"; anything else goes as unspecified, which the server refuses)."""
    number = ACCESS_TO_PB.get(access, 0)
    return session_pb2.GrantSessionAccessRequest(session_id=session_id, subject=subject, access=number)  # type: ignore[arg-type]


def grant_from_pb(request: session_pb2.GrantSessionAccessRequest) -> dict[str, Any]:
    """grant_session_access's arguments from the request."""
    if request.access not in ACCESS_FROM_PB:
        raise InvalidArgument("access must be SESSION_ACCESS_READ or SESSION_ACCESS_WRITE", field="access")
    return {"session_id": request.session_id, "subject": request.subject, "access": ACCESS_FROM_PB[request.access]}


BULK_ACTION_FROM_PB = {
    session_pb2.BULK_ACTION_COMPLETE: "complete",
    session_pb2.BULK_ACTION_FAIL: "fail",
    session_pb2.BULK_ACTION_ARCHIVE: "archive",
    session_pb2.BULK_ACTION_DELETE: "delete",
}
BULK_ACTION_TO_PB = {name: number for number, name in BULK_ACTION_FROM_PB.items()}
_PAGING = ("page_size", "page_token", "order_by")


def bulk_to_pb(
    action: str,
    *,
    reason: str = "",
    dry_run: bool = False,
    page_size: int = 0,
    page_token: str = "",
    **selection: Any,
) -> session_pb2.BulkSessionActionRequest:
    """A BulkSessionActionRequest from bulk_session_action's arguments (an unknown action goes as
    unspecified, which the server refuses)."""
    return session_pb2.BulkSessionActionRequest(
        filter=list_to_pb(**selection),
        action=BULK_ACTION_TO_PB.get(action, 0),  # type: ignore[arg-type]
        reason=reason,
        dry_run=dry_run,
        page_size=page_size,
        page_token=page_token,
    )


def bulk_from_pb(request: session_pb2.BulkSessionActionRequest) -> dict[str, Any]:
    """bulk_session_action's arguments: the filter's selection fields, the action and the paging."""
    if request.action not in BULK_ACTION_FROM_PB:
        raise InvalidArgument("action must be one of BULK_ACTION_COMPLETE, _FAIL, _ARCHIVE, _DELETE", field="action")
    selection = list_from_pb(request.filter)
    for name in _PAGING:
        if selection.pop(name):
            raise InvalidArgument(f"filter.{name} must be unset: the request has its own", field=f"filter.{name}")
    return {
        "action": BULK_ACTION_FROM_PB[request.action],
        **selection,
        "reason": request.reason,
        "dry_run": request.dry_run,
        "page_size": request.page_size,
        "page_token": request.page_token,
    }


def bulk_result_to_pb(result: BulkResult) -> session_pb2.BulkSessionActionResponse:
    """A BulkSessionActionResponse for what one call did."""
    return session_pb2.BulkSessionActionResponse(
        matched_count=result.matched,
        changed_session_ids=result.changed,
        skipped=[
            session_pb2.BulkSkippedSession(session_id=s.session_id, reason=s.reason, message=s.message)
            for s in result.skipped
        ],
        next_page_token=result.next_page_token,
        total_size=result.total_size,
    )


def bulk_result_from_pb(pb: session_pb2.BulkSessionActionResponse) -> BulkResult:
    """The BulkResult a BulkSessionActionResponse carries."""
    skipped = [BulkSkip(s.session_id, s.reason, s.message) for s in pb.skipped]
    return BulkResult(list(pb.changed_session_ids), skipped, pb.next_page_token, pb.total_size)
