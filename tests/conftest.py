"""Shared fixtures: real servers on 127.0.0.1:0 over temporary RocksDB directories, real clients.

With LLMSPELL_TEST_BACKEND=postgres the same fixtures give engines and servers over the shared
backend instead: records in PostgreSQL (a new database each), chunk bytes in SeaweedFS (a bucket
each), and every server as two worker processes on one port (`serve --workers 2`), so the suite's
clients reach two frontends. `make test` runs the engine and gRPC suites again that way.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.client import SessionClient

from tests.helpers.consistency import SHARED_STORES
from tests.helpers.postgres import PostgresCluster
from tests.helpers.s3 import SeaweedS3, find_weed
from tests.helpers.server import ServerProcess

# Rate limits are off unless a test turns them on: suites create thousands of sessions a minute.
# Engines built in-process and server subprocesses both read these.
os.environ.setdefault("LLMSPELL_SESSION_RATE_LIMIT_GLOBAL", "0")
os.environ.setdefault("LLMSPELL_SESSION_RATE_LIMIT_PER_SESSION", "0")

SHARED_BACKEND = os.environ.get("LLMSPELL_TEST_BACKEND", "") == "postgres"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SHARED_BACKEND:
        skip = pytest.mark.skip(reason="a test of the embedded RocksDB store itself")
        for item in items:
            if "embedded_only" in item.keywords:
                item.add_marker(skip)


def shared_store(request: pytest.FixtureRequest, path: Path) -> dict[str, str]:
    """The SessionManager settings of the shared store for path (the same database and bucket again
    for the same path: a restart finds its data)."""
    if path not in SHARED_STORES:
        cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
        seaweed: SeaweedS3 = request.getfixturevalue("seaweed")
        SHARED_STORES[path] = {
            "storage_backend": "postgres",
            "postgres_dsn": cluster.new_database(),
            "blob_store": "s3",
            "s3_endpoint": seaweed.endpoint,
            "s3_bucket": f"t{uuid.uuid4().hex[:16]}",
        }
    return SHARED_STORES[path]


def backend_options(request: pytest.FixtureRequest, path: Path) -> tuple[str, list[str]]:
    """(backend, server arguments) of the backend the suite runs over, for a store at path."""
    if not SHARED_BACKEND:
        return "rocksdb", []
    store = shared_store(request, path)
    args = ["--postgres-dsn", store["postgres_dsn"], "--blob-store", "s3", "--s3-endpoint", store["s3_endpoint"]]
    return "postgres", [*args, "--s3-bucket", store["s3_bucket"], "--workers", "2"]


@pytest.fixture(scope="session", autouse=True)
def object_store_credentials(request: pytest.FixtureRequest) -> None:
    """In the shared-backend pass, the object store's AWS_* credentials for every engine and server."""
    if SHARED_BACKEND:
        seaweed: SeaweedS3 = request.getfixturevalue("seaweed")
        os.environ.update(seaweed.env())


@pytest.fixture(scope="session")
def shared_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for tests that only need a live service (each creates its own sessions)."""
    path = tmp_path_factory.mktemp("store")
    backend, args = backend_options(request, path)
    server = ServerProcess(path, env={"LLMSPELL_SESSION_MAX_SESSIONS": "1000000"}, args=args, backend=backend)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def client(shared_server: ServerProcess) -> Iterator[SessionClient]:
    with SessionClient(shared_server.address) as c:
        yield c


@pytest.fixture
def server_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Starts dedicated servers (own store, own settings; the suite's backend unless one is named);
    all are stopped at the end."""
    started: list[ServerProcess] = []

    def start(
        env: dict[str, str] | None = None,
        args: list[str] | None = None,
        path: Path | None = None,
        backend: str = "",
    ) -> ServerProcess:
        path = path or tmp_path / f"store{len(started)}"
        if not backend:
            backend, extra = backend_options(request, path)
            args = [*extra, *(args or [])]  # the test's own flags win
        server = ServerProcess(path, env=env, args=args, backend=backend)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(params=["postgres"] if SHARED_BACKEND else ["memory", "rocksdb"])
def manager(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionManager]:
    """The embedded engine over each backend."""
    path = tmp_path / "db"
    settings = shared_store(request, path) if request.param == "postgres" else {"storage_backend": request.param}
    with SessionManager(storage_path=str(path), max_sessions=100000, **settings) as m:
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


@pytest.fixture(scope="session")
def seaweed() -> Iterator[SeaweedS3]:
    """A throwaway SeaweedFS S3 endpoint (weed mini on loopback), started on first use, deleted at the end."""
    binary = find_weed()
    if binary is None:
        pytest.skip("SeaweedFS's weed binary is missing: run make cluster-deps")
    server = SeaweedS3(binary).start()
    yield server
    server.destroy()


@pytest.fixture
def s3_env(seaweed: SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> SeaweedS3:
    """The endpoint with its AWS_* credentials in the environment (where S3BlobStore reads them)."""
    for name, value in seaweed.env().items():
        monkeypatch.setenv(name, value)
    return seaweed
