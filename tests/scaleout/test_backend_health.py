"""Health and errors follow the backend: PostgreSQL, or the object store, stopped under a running
server, then started again; no acknowledged write is lost."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import LlmspellError
from llmspell_sessions.rpc.server import ARTIFACT_SERVICE as ARTIFACT
from llmspell_sessions.rpc.server import SERVICES

from tests.helpers.postgres import PostgresCluster
from tests.helpers.s3 import SeaweedS3, find_weed
from tests.helpers.server import ServerProcess
from tests.scaleout.conftest import wait_for

pytestmark = pytest.mark.slow
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def _statuses(address: str, connections: int = 16, names: tuple[str, ...] = ("", *SERVICES)) -> set[int]:
    """The health status of names ("" and every service by default), as a set (one element when they
    agree), over several new connections: with workers, each connection reaches the worker the kernel
    picks, and the chance that 16 of them miss one of two workers is 2**-15."""
    found = set()
    for _ in range(connections):
        with grpc.insecure_channel(address, options=[("grpc.use_local_subchannel_pool", 1)]) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            for name in names:
                found.add(stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5).status)
    return found


@pytest.mark.parametrize("workers", ["1", "2"])
def test_health_and_errors_follow_postgres_down_and_back(
    own_postgres: PostgresCluster, postgres_server: Callable[..., ServerProcess], workers: str
) -> None:
    server = postgres_server("--workers", workers, dsn=own_postgres.new_database())
    with SessionClient(server.address, timeout=30) as client:
        before = client.create_session(name="before")
        client.set_session_state(before, {"acknowledged": True})
        assert _statuses(server.address) == {SERVING}

        own_postgres.stop_server("fast")
        wait_for(lambda: _statuses(server.address) == {NOT_SERVING}, 10, "NOT_SERVING for every service")
        started = time.monotonic()
        with pytest.raises(LlmspellError) as caught:
            client.create_session(name="while down")
        assert time.monotonic() - started < 5, "refused at once, not after the database's connect timeout"
        assert (caught.value.code, caught.value.reason) == ("UNAVAILABLE", "STORAGE_UNAVAILABLE")
        assert caught.value.retry_delay == 1.0, "RetryInfo tells the client when to retry"

        own_postgres.start_server()
        wait_for(lambda: _statuses(server.address) == {SERVING}, 20, "SERVING again")
        session_id = client.create_session(name="after")
        assert client.get_session(session_id).name == "after"
        assert client.get_session_state(before) == {"acknowledged": True}  # nothing acknowledged was lost
    assert server.process is not None and server.process.poll() is None, "no restart was needed"


def test_an_object_store_outage_stops_artifacts_only_and_heals(
    server_factory: Callable[..., ServerProcess], postgres_dsn: str, tmp_path: Path
) -> None:
    weed = find_weed()
    if weed is None:
        pytest.skip("SeaweedFS's weed binary is missing: run make cluster-deps")
    store = SeaweedS3(weed, tmp_path / "s3").start()
    try:
        args = ["--postgres-dsn", postgres_dsn, "--blob-store", "s3", "--s3-endpoint", store.endpoint]
        server = server_factory(backend="postgres", args=[*args, "--s3-bucket", "outage"], env=store.env())
        content = bytes(range(256)) * 300
        with SessionClient(server.address, timeout=60) as client:
            session_id = client.create_session(name="artifacts")
            kept = client.store_artifact(session_id, "kept", content)

            store.stop()
            wait_for(lambda: _statuses(server.address, names=(ARTIFACT,)) == {NOT_SERVING}, 20, "artifacts down")
            assert _statuses(server.address, names=("", *(s for s in SERVICES if s != ARTIFACT))) == {SERVING}
            client.set_session_state(session_id, {"sessions": "still served"})  # records need no object store
            started = time.monotonic()
            with pytest.raises(LlmspellError) as caught:
                client.store_artifact(session_id, "refused", content)
            assert time.monotonic() - started < 5, "refused at once while the object store is known down"
            assert (caught.value.code, caught.value.reason) == ("UNAVAILABLE", "STORAGE_UNAVAILABLE")
            assert caught.value.retry_delay == 1.0

            store.start()
            wait_for(lambda: _statuses(server.address) == {SERVING}, 60, "artifacts serving again")
            assert client.get_artifact(session_id, kept)[1] == content  # acknowledged before: still there
            again = client.store_artifact(session_id, "after", content[::-1])
            assert client.get_artifact(session_id, again)[1] == content[::-1]
            assert client.get_session(session_id).artifact_count == 2  # the refused one wrote nothing
    finally:
        store.destroy()
