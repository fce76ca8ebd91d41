"""serve --workers N: one port, N processes over PostgreSQL, supervised by a parent that binds nothing."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers.server import ServerProcess
from tests.scaleout.conftest import (
    children,
    create_over_fresh_connections,
    created,
    metrics_addresses,
    wait_for,
)

pytestmark = pytest.mark.slow
_CALLS = 40  # over fresh connections: the chance that all land on one of two workers is 2**-39


def _worker_pids(server: ServerProcess) -> list[int]:
    assert server.process is not None
    return children(server.process.pid)


def test_two_workers_share_one_port_and_both_serve(postgres_server: Callable[..., ServerProcess]) -> None:
    server = postgres_server("--workers", "2", "--metrics-address", "127.0.0.1:0")
    assert sum("serving on" in line for line in server.log) == 1, "the parent announces the port once"
    assert len(_worker_pids(server)) == 2
    # Each worker logs its metrics address itself: its line may reach the log after the parent's.
    wait_for(lambda: len(metrics_addresses(server)) == 2, 10, "both workers' metrics addresses")
    workers = metrics_addresses(server)
    assert len(workers) == 2 and len(set(workers)) == 2
    create_over_fresh_connections(server.address, _CALLS)
    counts = [created(address) for address in workers]
    assert sum(counts) == _CALLS
    assert all(count > 0 for count in counts), f"one worker took every call: {counts}"


def test_a_killed_worker_is_restarted_and_calls_keep_working(postgres_server: Callable[..., ServerProcess]) -> None:
    server = postgres_server("--workers", "2", "--metrics-address", "127.0.0.1:0")
    before = _worker_pids(server)
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: any("restarted and ready" in line for line in server.log), 60, "the worker is restarted")
    after = _worker_pids(server)
    assert len(after) == 2 and victim not in after and before[1] in after
    assert any(re.search(rf"worker 0 \(pid {victim}\) exited with -9", line) for line in server.log)
    create_over_fresh_connections(server.address, _CALLS)
    assert created(metrics_addresses(server)[-1]) > 0, "the restarted worker takes calls"


def test_sigterm_stops_the_parent_and_every_worker(postgres_server: Callable[..., ServerProcess]) -> None:
    server = postgres_server("--workers", "2")
    workers = _worker_pids(server)
    assert server.terminate() == 0
    for pid in workers:
        assert not Path(f"/proc/{pid}").exists(), f"worker {pid} outlived its parent's SIGTERM"
    assert sum(line.rstrip().endswith("stopped") for line in server.log) == 3  # two workers, then the parent


def test_workers_stop_when_the_parent_is_killed(postgres_server: Callable[..., ServerProcess]) -> None:
    server = postgres_server("--workers", "2")
    workers = _worker_pids(server)
    server.kill()
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers), 30, "the orphaned workers exit")


@pytest.mark.parametrize(
    ("backend", "why"),
    [("rocksdb", "RocksDB is opened by one process"), ("memory", "the memory backend lives in one process")],
)
def test_embedded_backends_refuse_more_than_one_worker(tmp_path: Path, backend: str, why: str) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "llmspell_sessions",
            "serve",
            "--workers",
            "2",
            "--backend",
            backend,
            "--path",
            str(tmp_path),
            "--address",
            "127.0.0.1:0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: INVALID_ARGUMENT: --workers > 1 needs a shared backend (--backend postgres): {why}"]
    assert not (tmp_path / "CURRENT").exists(), "nothing was opened"
    assert time.monotonic() - started < 30


def test_workers_must_be_at_least_one(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "llmspell_sessions", "serve", "--workers", "0", "--path", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "workers must be >= 1" in result.stderr
