"""SessionService against the real server: lifecycle, etags, idempotency, state, listing, bad input."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from llmspell_sessions import SessionState
from llmspell_sessions._pb import session_pb2, session_pb2_grpc
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import (
    EtagMismatch,
    InvalidArgument,
    InvalidStateTransition,
    SessionNotActive,
    SessionNotFound,
)

S = SessionState


def test_create_returns_a_uuid7_session_with_everything_set(client: SessionClient) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    session = client.new_session("agent run", "desc", ["a", "b"], {"model": "x", "n": 3, "nested": {"k": [1, None]}})
    assert uuid.UUID(session.session_id).version == 7
    assert (session.name, session.description, session.tags) == ("agent run", "desc", ["a", "b"])
    assert session.metadata == {"model": "x", "n": 3, "nested": {"k": [1, None]}}
    assert session.state == S.ACTIVE and session.last_event_seq == 1
    assert session.create_time is not None and session.create_time > before
    assert session.expire_time is not None and session.expire_time > session.create_time
    assert session.created_by == "anonymous"
    assert client.get_session(session.session_id).etag == session.etag


def test_full_lifecycle(client: SessionClient) -> None:
    sid = client.create_session(name="life")
    assert client.suspend_session(sid).state == S.SUSPENDED
    assert client.resume_session(sid).state == S.ACTIVE
    done = client.complete_session(sid)
    assert done.state == S.COMPLETED and done.end_time is not None
    archived = client.archive_session(sid)
    assert archived.state == S.ARCHIVED
    assert archived.last_event_seq == 5


def test_fail_keeps_reason(client: SessionClient) -> None:
    sid = client.create_session()
    client.suspend_session(sid)
    failed = client.fail_session(sid, "tool crashed")
    assert failed.state == S.FAILED and failed.failure_reason == "tool crashed" and failed.end_time is not None


ILLEGAL = [
    (S.ACTIVE, "resume"),
    (S.ACTIVE, "archive"),
    (S.SUSPENDED, "suspend"),
    (S.SUSPENDED, "archive"),
    (S.COMPLETED, "suspend"),
    (S.COMPLETED, "resume"),
    (S.COMPLETED, "complete"),
    (S.COMPLETED, "fail"),
    (S.FAILED, "suspend"),
    (S.FAILED, "resume"),
    (S.FAILED, "complete"),
    (S.FAILED, "fail"),
    (S.ARCHIVED, "suspend"),
    (S.ARCHIVED, "resume"),
    (S.ARCHIVED, "complete"),
    (S.ARCHIVED, "fail"),
    (S.ARCHIVED, "archive"),
]
PATH_TO = {
    S.ACTIVE: [],
    S.SUSPENDED: ["suspend"],
    S.COMPLETED: ["complete"],
    S.FAILED: ["fail"],
    S.ARCHIVED: ["complete", "archive"],
}


@pytest.mark.parametrize(("state", "verb"), ILLEGAL, ids=[f"{s.name}-{v}" for s, v in ILLEGAL])
def test_every_illegal_transition_is_refused_and_changes_nothing(client: SessionClient, state: S, verb: str) -> None:
    sid = client.create_session()
    for step in PATH_TO[state]:
        getattr(client, f"{step}_session")(sid)
    before = client.get_session(sid)
    with pytest.raises(InvalidStateTransition) as caught:
        getattr(client, f"{verb}_session")(sid)
    assert caught.value.code == "FAILED_PRECONDITION"
    assert caught.value.metadata["session_id"] == sid
    after = client.get_session(sid)
    assert (after.state, after.etag) == (before.state, before.etag)


def test_error_status_carries_error_info(shared_server) -> None:  # type: ignore[no-untyped-def]
    with grpc.insecure_channel(shared_server.address) as channel:
        stub = session_pb2_grpc.SessionServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            stub.GetSession(session_pb2.GetSessionRequest(session_id=str(uuid.UUID(int=7))))
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
    details = dict(caught.value.trailing_metadata())["grpc-status-details-bin"]
    from google.rpc import error_details_pb2, status_pb2

    status = status_pb2.Status.FromString(details)
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    assert (info.domain, info.reason) == ("llmspell.sessions", "SESSION_NOT_FOUND")
    assert info.metadata["session_id"] == str(uuid.UUID(int=7))


def test_stale_etag_is_aborted_and_current_etag_works(client: SessionClient) -> None:
    session = client.new_session(name="v1")
    updated = client.update_session(session.session_id, name="v2", etag=session.etag)
    assert updated.name == "v2" and updated.etag != session.etag
    with pytest.raises(EtagMismatch) as caught:
        client.update_session(session.session_id, name="v3", etag=session.etag)
    assert caught.value.code == "ABORTED"
    with pytest.raises(EtagMismatch):
        client.suspend_session(session.session_id, etag=session.etag)
    with pytest.raises(EtagMismatch):
        client.set_session_state(session.session_id, {"k": 1}, etag=session.etag)
    assert client.get_session(session.session_id).name == "v2"


def test_update_mask_changes_only_named_fields(client: SessionClient) -> None:
    session = client.new_session("n", "d", ["t"], {"m": 1})
    updated = client.update_session(session.session_id, tags=["x", "y"])
    assert (updated.name, updated.description, updated.tags, updated.metadata) == ("n", "d", ["x", "y"], {"m": 1})
    updated = client.update_session(session.session_id, metadata={"m": 2}, description="")
    assert (updated.description, updated.metadata, updated.tags) == ("", {"m": 2}, ["x", "y"])


def test_create_with_same_request_id_returns_same_session(client: SessionClient) -> None:
    request_id = str(uuid.uuid4())
    first = client.create_session(name="once", request_id=request_id)
    second = client.create_session(name="once", request_id=request_id)
    assert first == second
    assert client.create_session(name="once", request_id=str(uuid.uuid4())) != first


def test_state_round_trip_of_nested_values(client: SessionClient) -> None:
    sid = client.create_session()
    value = {
        "messages": [{"role": "user", "content": "hi", "tokens": 12}, {"role": "tool", "ok": True}],
        "score": 0.25,
        "none": None,
        "deep": {"a": {"b": {"c": [1, [2, [3]]]}}},
        "big": 2**52,
    }
    session = client.set_session_state(sid, {"conversation": value, "counter": 7, "flag": False, "text": "é✓"})
    assert session.last_event_seq == 2
    state = client.get_session_state(sid)
    assert state == {"conversation": value, "counter": 7, "flag": False, "text": "é✓"}
    assert client.get_session_state(sid, ["counter", "missing"]) == {"counter": 7}
    client.set_session_state(sid, {"counter": 8}, ["flag"])
    assert client.get_session_state(sid, ["counter", "flag"]) == {"counter": 8}


def test_state_changes_need_an_active_session(client: SessionClient) -> None:
    sid = client.create_session()
    client.suspend_session(sid)
    with pytest.raises(SessionNotActive):
        client.set_session_state(sid, {"k": 1})


def test_load_returns_session_state_and_artifacts(client: SessionClient) -> None:
    sid = client.create_session(name="load me")
    client.set_session_state(sid, {"a": 1})
    loaded = client.load_session(sid)
    assert loaded.session.session_id == sid and loaded.state == {"a": 1} and loaded.artifacts == []


def test_save_appends_event_and_returns_session(client: SessionClient) -> None:
    sid = client.create_session()
    saved = client.save_session(sid)
    assert saved.last_event_seq == 2


def test_delete_removes_session_and_its_state(client: SessionClient) -> None:
    sid = client.create_session()
    client.set_session_state(sid, {"k": "v"})
    client.delete_session(sid)
    with pytest.raises(SessionNotFound):
        client.get_session(sid)
    with pytest.raises(SessionNotFound):
        client.get_session_state(sid)
    with pytest.raises(SessionNotFound):
        client.delete_session(sid)


def test_child_sessions_need_an_existing_parent(client: SessionClient) -> None:
    parent = client.create_session(name="parent")
    child = client.new_session(name="child", parent_session_id=parent)
    assert child.parent_session_id == parent
    with pytest.raises(SessionNotFound):
        client.create_session(parent_session_id=str(uuid.UUID(int=1)))


BAD_IDS = ["", "x", "not-a-uuid", "0" * 36, "A" * 37, str(uuid.uuid4()).upper(), "\x00" * 36, "é" * 36]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_malformed_ids_are_invalid_argument(client: SessionClient, bad: str) -> None:
    for call in (
        client.get_session,
        client.suspend_session,
        client.load_session,
        client.delete_session,
        client.get_session_state,
        client.save_session,
    ):
        with pytest.raises(InvalidArgument) as caught:
            call(bad)
        assert caught.value.code == "INVALID_ARGUMENT"


def test_unknown_well_formed_id_is_not_found(client: SessionClient) -> None:
    with pytest.raises(SessionNotFound) as caught:
        client.get_session(str(uuid.uuid4()))
    assert caught.value.code == "NOT_FOUND"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "x" * 256}, "name"),
        ({"name": "bad\nname"}, "name"),
        ({"name": "nul\x00"}, "name"),
        ({"tags": [""]}, "tags"),
        ({"tags": ["t" * 65]}, "tags"),
        ({"tags": [f"t{i}" for i in range(65)]}, "tags"),
        ({"tags": ["tab\there"]}, "tags"),
        ({"metadata": {"blob": "x" * 70000}}, "metadata"),
        ({"description": "d" * 20000}, "description"),
        ({"request_id": "r" * 129}, None),
        ({"parent_session_id": "nope"}, "parent_session_id"),
    ],
)
def test_bad_create_input_is_invalid_argument(client: SessionClient, kwargs: dict, field: str | None) -> None:
    with pytest.raises(InvalidArgument) as caught:
        client.create_session(**kwargs)
    if field:
        assert caught.value.metadata.get("field") == field


def test_bad_state_input_is_invalid_argument(client: SessionClient) -> None:
    sid = client.create_session()
    for entries, deletes in [
        ({}, []),
        ({"": 1}, []),
        ({"k": 1}, ["k"]),
        ({"x" * 300: 1}, []),
        ({"ok": float("nan")}, []),
        ({"ok": float("inf")}, []),
    ]:
        with pytest.raises(InvalidArgument):
            client.set_session_state(sid, entries, deletes)
    assert client.get_session(sid).last_event_seq == 1


def test_unknown_update_mask_path_is_invalid_argument(shared_server) -> None:  # type: ignore[no-untyped-def]
    with SessionClient(shared_server.address) as c:
        sid = c.create_session()
        request = session_pb2.UpdateSessionRequest()
        request.session.session_id = sid
        request.update_mask.paths.append("state")
        with pytest.raises(grpc.RpcError) as caught:
            c.stub("session").UpdateSession(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_active_since_and_state_bytes_travel_over_grpc(client: SessionClient) -> None:
    sid = client.create_session()
    created = client.get_session(sid)
    assert created.active_since is not None and created.active_since == created.create_time
    client.suspend_session(sid)
    resumed = client.resume_session(sid)
    assert resumed.active_since is not None and resumed.active_since > created.active_since
    after = client.set_session_state(sid, {"k": "v" * 10})
    assert after.state_bytes > 10
