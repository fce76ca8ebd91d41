"""Shared fixtures: real servers on 127.0.0.1:0 over temporary RocksDB directories, real clients."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.client import SessionClient

from tests.helpers.postgres import PostgresCluster
from tests.helpers.server import ServerProcess

# Rate limits are off unless a test turns them on: suites create thousands of sessions a minute.
# Engines built in-process and server subprocesses both read these.
os.environ.setdefault("LLMSPELL_SESSION_RATE_LIMIT_GLOBAL", "0")
os.environ.setdefault("LLMSPELL_SESSION_RATE_LIMIT_PER_SESSION", "0")


@pytest.fixture(scope="session")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for tests that only need a live service (each creates its own sessions)."""
    server = ServerProcess(tmp_path_factory.mktemp("store"), env={"LLMSPELL_SESSION_MAX_SESSIONS": "1000000"})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(shared_server: ServerProcess) -> Iterator[SessionClient]:
    with SessionClient(shared_server.address) as c:
        yield c


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Starts dedicated servers (own store, own settings); all are stopped at the end."""
    started: list[ServerProcess] = []

    def start(
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        path: Path | None = None,
        backend: str = "rocksdb",
    ) -> ServerProcess:
        server = ServerProcess(path or tmp_path / f"store{len(started)}", env=env, args=args, backend=backend)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(params=["memory", "rocksdb"])
def manager(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionManager]:
    """The embedded engine over each backend."""
    with SessionManager(storage_backend=request.param, storage_path=str(tmp_path / "db"), max_sessions=100000) as m:
        yield m


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster (unix socket in a temp dir), started on first use, deleted at the end."""
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_dsn(postgres_cluster: PostgresCluster) -> str:
    """The DSN of a new, empty database of the test cluster: tests never see each other's rows."""
    return postgres_cluster.new_database()
