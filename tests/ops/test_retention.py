"""Retention: a live server archives, then deletes, ended sessions and expires old artifact versions by
itself, logging each step as an event first; the CLI's dry run lists the same without writing."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import InvalidArgument, SessionNotFound
from llmspell_sessions.model import SessionState

from tests.helpers.server import ServerProcess

POLICY = {
    "LLMSPELL_SESSION_RETENTION_ARCHIVE_AFTER": "1",
    "LLMSPELL_SESSION_RETENTION_DELETE_AFTER": "4",
    "LLMSPELL_SESSION_RETENTION_KEEP_VERSIONS": "2",
    "LLMSPELL_SESSION_MAINTENANCE_INTERVAL": "0.3",
    "LLMSPELL_SESSION_SWEEP_INTERVAL": "0.1",
}


def _until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "retention did not act in time"
        time.sleep(0.1)


def test_a_server_archives_then_deletes_ended_sessions_and_expires_old_versions(
    server_factory: Callable[..., ServerProcess],
) -> None:
    server = server_factory(env=POLICY, args=["--metrics-address", "127.0.0.1:0"], backend="rocksdb")
    with SessionClient(server.address) as client:
        ended = client.create_session(name="ended")
        client.complete_session(ended)
        working = client.create_session(name="working")
        for n in range(4):
            client.store_artifact(working, "report.md", f"version {n}".encode())
        client.store_artifact(working, "other.md", b"only one")
        untouched = client.create_session(name="untouched")

        _until(lambda: client.get_session(ended).state == SessionState.ARCHIVED)
        archived = [e for e in client.list_events(ended).items if e.type == "session.archived"]
        assert [e.payload.get("reason") for e in archived] == ["retention"]
        live = client.list_artifacts(working, all_versions=True).items
        assert sorted((a.name, a.version) for a in live) == [("other.md", 1), ("report.md", 3), ("report.md", 4)]
        expired = [e.payload for e in client.list_events(working).items if e.type == "artifact.deleted"]
        assert [(p["version"], p["reason"]) for p in expired] == [(1, "retention"), (2, "retention")]

        def gone() -> bool:
            try:
                client.get_session(ended)
            except SessionNotFound:
                return True
            return False

        _until(gone)
        assert client.get_session(untouched).state == SessionState.ACTIVE
        assert client.get_session(working).state == SessionState.ACTIVE
    metrics = next(m.group(1) for line in server.log if (m := re.search(r"metrics on (\S+)", line)))
    text = urllib.request.urlopen(f"http://{metrics}/metrics", timeout=10).read().decode()
    counts = dict(re.findall(r'llmspell_retention_total\{action="(\w+)"\} ([0-9.]+)', text))
    assert {k: float(v) for k, v in counts.items()} == {"archived": 1.0, "deleted": 1.0, "expired_versions": 2.0}


def test_the_cli_dry_run_lists_and_the_real_run_deletes(tmp_path: Path) -> None:
    path = tmp_path / "store"
    with SessionManager(storage_path=str(path), start_sweeper=False) as m:
        done = m.create_session(name="done")
        m.complete_session(done)
        keep = m.create_session(name="keep")
    env = {**os.environ, "LLMSPELL_SESSION_RETENTION_DELETE_AFTER": "0.001"}
    command = [sys.executable, "-m", "llmspell_sessions", "retention", "--path", str(path)]
    dry = subprocess.run([*command, "--dry-run"], capture_output=True, text=True, env=env, timeout=120)
    assert dry.returncode == 0, dry.stderr
    assert "would archive 0, delete 1" in dry.stdout and f"delete default/{done}" in dry.stdout
    with SessionManager(storage_path=str(path), start_sweeper=False) as m:
        assert m.get_session(done).state == SessionState.COMPLETED  # nothing written
    real = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert real.returncode == 0 and "did archive 0, delete 1" in real.stdout
    with SessionManager(storage_path=str(path), start_sweeper=False) as m:
        with pytest.raises(SessionNotFound):
            m.get_session(done)
        assert m.get_session(keep).state == SessionState.ACTIVE


def test_policies_are_validated() -> None:
    with pytest.raises(InvalidArgument, match="retention_delete_after must be longer"):
        SessionManager(storage_backend="memory", retention_archive_after=10, retention_delete_after=5)
    with pytest.raises(InvalidArgument, match="retention_keep_versions must be >= 0"):
        SessionManager(storage_backend="memory", retention_keep_versions=-1)
