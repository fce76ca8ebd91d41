"""Tokens, roles, tenant isolation, TLS and mTLS, rate limits — over the real server."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import (
    AccessDenied,
    ArtifactNotFound,
    LlmspellError,
    RateLimited,
    SessionNotFound,
    Unauthenticated,
)
from llmspell_sessions.model import UploadHeader

from tests.helpers.certs import make_pki
from tests.helpers.server import ServerProcess

TOKENS = {
    "alice-w": ("alice", "team-a", "writer"),
    "alice-r": ("alice-reader", "team-a", "reader"),
    "carol-w": ("carol", "team-a", "writer"),
    "root": ("root", "team-a", "admin"),
    "bob-w": ("bob", "team-b", "writer"),
}


def _config(path: Path, extra: str = "") -> Path:
    lines = [extra]
    for token, (subject, tenant, role) in TOKENS.items():
        digest = hashlib.sha256(token.encode()).hexdigest()
        lines.append(
            f'[[auth.tokens]]\nsha256 = "{digest}"\nsubject = "{subject}"\ntenant = "{tenant}"\nrole = "{role}"\n'
        )
    config = path / "server.toml"
    config.write_text("\n".join(lines))
    return config


@pytest.fixture
def secured(server_factory: Callable[..., ServerProcess], tmp_path: Path) -> ServerProcess:
    return server_factory(args=["--config", str(_config(tmp_path))])


def test_missing_or_unknown_token_is_unauthenticated(secured: ServerProcess) -> None:
    for token in ["", "wrong", "alice-w2", "ALICE-W"]:
        with SessionClient(secured.address, token=token) as c, pytest.raises(Unauthenticated) as caught:
            c.create_session()
        assert caught.value.code == "UNAUTHENTICATED"
    with grpc.insecure_channel(secured.address) as channel:  # health stays public for probes
        status = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest()).status
        assert status == health_pb2.HealthCheckResponse.SERVING
    assert not any("alice-w" in line for line in secured.log)  # tokens are never logged


def test_roles(secured: ServerProcess) -> None:
    with (
        SessionClient(secured.address, token="alice-w") as writer,
        SessionClient(secured.address, token="alice-r") as reader,
        SessionClient(secured.address, token="root") as admin,
    ):
        session = writer.new_session(name="owned")
        assert session.created_by == "alice"
        admin.grant_session_access(session.session_id, "alice-reader", "write")  # the role still caps it
        assert reader.get_session(session.session_id).name == "owned"
        for call in (
            lambda: reader.create_session(),
            lambda: reader.set_session_state(session.session_id, {"a": 1}),
            lambda: reader.delete_session(session.session_id),
        ):
            with pytest.raises(AccessDenied) as caught:
                call()
            assert caught.value.code == "PERMISSION_DENIED"


def test_tenants_are_isolated(secured: ServerProcess) -> None:
    data = os.urandom(200_000)
    with SessionClient(secured.address, token="alice-w") as alice, SessionClient(secured.address, token="bob-w") as bob:
        sid = alice.create_session(name="secret")
        artifact = alice.put_artifact(UploadHeader(sid, "secret.bin"), data)
        with pytest.raises(SessionNotFound):
            bob.get_session(sid)
        with pytest.raises(SessionNotFound):
            bob.set_session_state(sid, {"x": 1})
        with pytest.raises(ArtifactNotFound):
            bob.get_artifact_info(artifact.artifact_id)
        with pytest.raises(ArtifactNotFound):
            bob.download_artifact(artifact.artifact_id)
        assert bob.list_sessions().total_size == 0
        assert bob.get_storage_stats().artifact_count == 0
        digest = artifact.content_digest
        assert bob.find_missing_chunks([digest]) == [digest]
        own = bob.create_session()
        copy = bob.put_artifact(UploadHeader(own, "guess.bin"), data)
        assert copy.new_bytes == copy.stored_size  # no hint that alice stored the same bytes
        assert alice.list_sessions().total_size == 1


def test_tls(server_factory: Callable[..., ServerProcess], tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    server = server_factory(args=["--tls-cert", str(pki["server_cert"]), "--tls-key", str(pki["server_key"])])
    with SessionClient(server.address, root_certificates=str(pki["ca"])) as c:
        assert c.get_session(c.create_session(name="tls")).name == "tls"
    with SessionClient(server.address, timeout=3) as plain, pytest.raises(LlmspellError) as caught:
        plain.create_session()
    assert caught.value.code == "UNAVAILABLE"


def test_mutual_tls(server_factory: Callable[..., ServerProcess], tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    server = server_factory(
        args=[
            "--tls-cert",
            str(pki["server_cert"]),
            "--tls-key",
            str(pki["server_key"]),
            "--tls-client-ca",
            str(pki["ca"]),
        ]
    )
    with SessionClient(
        server.address,
        root_certificates=str(pki["ca"]),
        client_cert=str(pki["client_cert"]),
        client_key=str(pki["client_key"]),
    ) as c:
        c.create_session()
    with SessionClient(server.address, root_certificates=str(pki["ca"]), timeout=3) as anonymous:
        with pytest.raises(LlmspellError) as caught:
            anonymous.create_session()
        assert caught.value.code == "UNAVAILABLE"


def test_rate_limit_over_grpc_carries_retry_info(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(env={"LLMSPELL_SESSION_RATE_LIMIT_PER_SESSION": "6"})
    with SessionClient(server.address) as c:
        sid = c.create_session()
        with pytest.raises(RateLimited) as caught:
            for i in range(20):
                c.set_session_state(sid, {"i": i})
        assert caught.value.code == "RESOURCE_EXHAUSTED" and caught.value.reason == "RATE_LIMITED"
        assert caught.value.retry_delay is not None and 0 < caught.value.retry_delay <= 10
        assert c.get_session_state(sid)["i"] == 7  # 9 tokens: create + 8 writes (i = 0..7)


def test_unknown_ids_of_other_tenants_look_missing(secured: ServerProcess) -> None:
    with SessionClient(secured.address, token="bob-w") as bob, pytest.raises(SessionNotFound):
        bob.get_session(str(uuid.uuid4()))


def test_per_session_grants_and_audit(secured: ServerProcess) -> None:
    with (
        SessionClient(secured.address, token="alice-w") as alice,
        SessionClient(secured.address, token="carol-w") as carol,
        SessionClient(secured.address, token="root") as admin,
    ):
        sid = alice.create_session(name="alice's")
        carol.create_session(name="carol's")
        with pytest.raises(AccessDenied) as caught:
            carol.get_session(sid)
        assert caught.value.metadata["subject"] == "carol"
        assert [s.name for s in carol.list_sessions().items] == ["carol's"]
        with pytest.raises(AccessDenied):
            alice.grant_session_access(sid, "carol", "read")  # only admins grant
        granted = admin.grant_session_access(sid, "carol", "read")
        assert granted.grants == {"carol": "read"}
        assert carol.get_session(sid).name == "alice's"
        with pytest.raises(AccessDenied):
            carol.set_session_state(sid, {"x": 1})
        admin.grant_session_access(sid, "carol", "write")
        carol.set_session_state(sid, {"x": 1})
        admin.revoke_session_access(sid, "carol")
        with pytest.raises(AccessDenied):
            carol.get_session_state(sid)
        events = alice.list_events(sid, page_size=100).items
        # Denials are audited in the server's log, never as events of the session they were refused.
        assert "session.access_denied" not in [e.type for e in events]
        audit = [line for line in secured.log if "access denied: carol may not" in line and sid in line]
        assert audit, "every refused subject and session is audited in the log"
        assert [e.type for e in events].count("session.access_granted") == 2
