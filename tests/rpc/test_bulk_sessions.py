"""BulkSessionAction over the real server: tokens, tenants and roles, paging, dry runs, bad requests."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from llmspell_sessions import SessionState
from llmspell_sessions._pb import session_pb2, session_pb2_grpc
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import InvalidArgument, SessionNotFound

from tests.helpers.server import ServerProcess

TOKENS = {  # token: (subject, tenant, role)
    "w": ("wendy", "team-a", "writer"),
    "r": ("rita", "team-a", "reader"),
    "root": ("root", "team-a", "admin"),
    "b": ("bob", "team-b", "writer"),
}


@pytest.fixture
def secured(server_factory: Callable[..., ServerProcess], tmp_path: Path) -> ServerProcess:
    lines = []
    for token, (subject, tenant, role) in TOKENS.items():
        digest = hashlib.sha256(token.encode()).hexdigest()
        lines.append(f'[[auth.tokens]]\nsha256 = "{digest}"\nsubject = "{subject}"')
        lines.append(f'tenant = "{tenant}"\nrole = "{role}"')
    config = tmp_path / "server.toml"
    config.write_text("\n".join(lines) + "\n")
    return server_factory(args=["--config", str(config)])


def test_pages_of_a_dry_run_then_the_run(secured: ServerProcess) -> None:
    with SessionClient(secured.address, token="w") as wendy, SessionClient(secured.address, token="b") as bob:
        ids = [wendy.create_session(name=f"job {i}", tags=["nightly"]) for i in range(5)]
        keep = wendy.create_session(name="other", tags=["daily"])
        bobs = bob.create_session(name="job b", tags=["nightly"])  # another tenant, same tag
        preview = wendy.bulk_session_action("delete", tags=["nightly"], dry_run=True, page_size=3)
        assert preview.changed == ids[:3] and preview.total_size == 5 and preview.next_page_token
        rest = wendy.bulk_session_action(
            "delete", tags=["nightly"], dry_run=True, page_size=3, page_token=preview.next_page_token
        )
        assert rest.changed == ids[3:] and rest.next_page_token == ""
        assert len(wendy.list_sessions(tags=["nightly"]).items) == 5  # the dry run deleted nothing
        done = wendy.bulk_session_action("delete", tags=["nightly"], page_size=1000)
        assert (done.changed, done.skipped, done.matched) == (ids, [], 5)
        with pytest.raises(SessionNotFound):
            wendy.get_session(ids[0])
        assert wendy.get_session(keep).state == SessionState.ACTIVE
        assert bob.get_session(bobs).state == SessionState.ACTIVE


def test_a_reader_sees_every_session_refused(secured: ServerProcess) -> None:
    with SessionClient(secured.address, token="w") as wendy, SessionClient(secured.address, token="root") as root:
        sid = wendy.create_session(name="shared", tags=["shared"])
        root.grant_session_access(sid, "rita", "write")  # the reader role still caps a write grant
        with SessionClient(secured.address, token="r") as rita:
            result = rita.bulk_session_action("complete", tags=["shared"])
        assert result.changed == [] and [(s.session_id, s.reason) for s in result.skipped] == [(sid, "ACCESS_DENIED")]
        assert wendy.get_session(sid).state == SessionState.ACTIVE


def test_bad_requests_are_invalid_argument(client: SessionClient, shared_server: ServerProcess) -> None:
    with pytest.raises(InvalidArgument) as caught:
        client.bulk_session_action("explode", tags=["x"])
    assert caught.value.metadata["field"] == "action"
    with pytest.raises(InvalidArgument):
        client.bulk_session_action("complete", tags=["x"], page_size=-1)
    with pytest.raises(InvalidArgument):
        client.bulk_session_action("archive", tags=["x"], reason="only for fail")
    with grpc.insecure_channel(shared_server.address) as channel:
        stub = session_pb2_grpc.SessionServiceStub(channel)
        for paging in ({"page_size": 5}, {"page_token": "x"}, {"order_by": "name"}):
            request = session_pb2.BulkSessionActionRequest(
                filter=session_pb2.ListSessionsRequest(tags=["x"], **paging),  # type: ignore[arg-type]
                action=session_pb2.BULK_ACTION_DELETE,
            )
            with pytest.raises(grpc.RpcError) as rpc_error:
                stub.BulkSessionAction(request)
            assert rpc_error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert f"filter.{next(iter(paging))}" in (rpc_error.value.details() or "")
