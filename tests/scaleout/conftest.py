"""Fixtures of the scale-out tests: a PostgreSQL cluster a test may stop and start, and the helpers that
look at a `serve --workers N` parent from outside (its children, their /metrics, fresh connections)."""

from __future__ import annotations

import os
import re
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from llmspell_sessions._pb import session_pb2, session_pb2_grpc

from tests.helpers.postgres import PostgresCluster
from tests.helpers.s3 import SeaweedS3
from tests.helpers.server import ServerProcess

_METRICS = re.compile(r"metrics on (\S+:\d+)")
_CREATE_SAMPLE = re.compile(r'^llmspell_rpc_requests_total\{[^}]*method="SessionService/CreateSession"[^}]*\} (\S+)$')


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[PostgresCluster]:
    """A cluster of this test alone (its socket directory survives a stop, so DSNs stay valid)."""
    cluster = PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture
def postgres_server(postgres_dsn: str, seaweed: SeaweedS3, tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Starts `serve --backend postgres --blob-store s3` over a fresh database (and a bucket of the
    test session's object store) with extra args; stopped at the end."""
    started: list[ServerProcess] = []
    blobs = ["--blob-store", "s3", "--s3-endpoint", seaweed.endpoint, "--s3-bucket", f"b{uuid.uuid4().hex[:12]}"]

    def start(*args: str, dsn: str = postgres_dsn) -> ServerProcess:
        server = ServerProcess(
            tmp_path / f"store{len(started)}",
            backend="postgres",
            args=["--postgres-dsn", dsn, *blobs, *args],
            env=seaweed.env(),
        )
        started.append(server)
        return server.start(timeout=60)

    yield start
    for server in started:
        server.stop()


def children(pid: int) -> list[int]:
    """The live (not zombie) child processes of pid, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return sorted(found)


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.1)


def metrics_addresses(server: ServerProcess) -> list[str]:
    """Every 'metrics on HOST:PORT' the workers logged, oldest first."""
    return [m.group(1) for m in map(_METRICS.search, list(server.log)) if m]


def created(metrics_address: str) -> float:
    """CreateSession calls one worker served, from its own /metrics."""
    with urllib.request.urlopen(f"http://{metrics_address}/metrics", timeout=5) as response:
        lines = response.read().decode().splitlines()
    return sum(float(m.group(1)) for m in map(_CREATE_SAMPLE.match, lines) if m)


def create_over_fresh_connections(address: str, count: int) -> None:
    """count CreateSession calls, each over a new TCP connection (a private subchannel pool), so
    SO_REUSEPORT hands each one to a worker of the kernel's choosing."""
    for index in range(count):
        options = [("grpc.use_local_subchannel_pool", 1)]
        with grpc.insecure_channel(address, options=options) as channel:
            stub = session_pb2_grpc.SessionServiceStub(channel)
            stub.CreateSession(session_pb2.CreateSessionRequest(name=f"spread-{index}"), timeout=30)
