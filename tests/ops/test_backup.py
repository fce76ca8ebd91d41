"""backup / restore: a backup taken over gRPC while clients write restores to a store that `check`
passes and that holds, for every session, exactly the source's history up to the backup's seq."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from blake3 import blake3
from llmspell_sessions import SessionManager
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import AccessDenied, Unimplemented

from tests.helpers.server import ServerProcess

CLI = [sys.executable, "-m", "llmspell_sessions"]


def _cli(*args: str, token: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LLMSPELL_SESSION_TOKEN": token}
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, env=env)


class Load:
    """Writers creating sessions, changing state, appending events and storing artifacts until stopped."""

    def __init__(self, address: str, writers: int = 3) -> None:
        self.address = address
        self.stop = threading.Event()
        self.acknowledged = 0
        self.errors: list[BaseException] = []
        self._threads = [threading.Thread(target=self._write, args=(n,)) for n in range(writers)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(60)
        assert not self.errors, self.errors

    def _write(self, n: int) -> None:
        try:
            with SessionClient(self.address) as client:
                step = 0
                while not self.stop.is_set():
                    sid = client.create_session(name=f"load-{n}-{step}")
                    for turn in range(5):
                        client.apply_changes(sid, {"turn": turn, f"k{turn}": "v" * 50}, events=[{"type": "app.turn"}])
                        content = (f"{n}/{step}/{turn} " * (3000 if turn % 2 else 10)).encode()
                        client.store_artifact(sid, f"out-{turn}.txt", content)
                        self.acknowledged += 1
                    step += 1
        except BaseException as exc:  # noqa: BLE001 - reported by __exit__
            self.errors.append(exc)


def _compare_with_source(restored_path: Path, source: SessionClient) -> int:
    """Every restored session equals the source's at the restored last seq; returns how many."""
    compared = 0
    with SessionManager(storage_path=str(restored_path), start_sweeper=False) as restored:
        for session in restored.list_sessions(page_size=1000).items:
            sid, seq = session.session_id, session.last_event_seq
            mine = restored.list_events(sid, page_size=1000).items
            theirs = [e for e in source.list_events(sid, page_size=1000).items if e.seq <= seq]
            assert [(e.seq, e.type, e.payload) for e in mine] == [(e.seq, e.type, e.payload) for e in theirs]
            assert restored.get_session_state(sid) == source.get_snapshot(sid, at_seq=seq).state
            stored = {e.payload["artifact_id"] for e in mine if e.type == "artifact.stored"}
            artifacts = restored.list_artifacts(sid, page_size=1000).items
            assert {a.artifact_id for a in artifacts} == stored
            for artifact in artifacts:
                _, data = restored.get_artifact(sid, artifact.artifact_id)
                _, original = source.get_artifact(sid, artifact.artifact_id)
                assert data == original and blake3(data).hexdigest() == artifact.content_digest
            compared += 1
    return compared


def test_a_backup_under_load_restores_every_acknowledged_write_up_to_its_point(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_factory(env={"LLMSPELL_SESSION_MAX_SESSIONS": "100000"}, backend="rocksdb")
    dest = tmp_path / "backups"
    with Load(server.address) as load:
        while load.acknowledged < 20:
            threading.Event().wait(0.05)
        first = _cli("backup", "--target", server.address, str(dest))
        assert first.returncode == 0, first.stderr
        while load.acknowledged < 60:
            threading.Event().wait(0.05)
        second = _cli("backup", "--target", server.address, str(dest))
        assert second.returncode == 0, second.stderr
    backups = sorted(p for p in dest.iterdir())
    assert len(backups) == 2 and all((b / "manifest.json").is_file() for b in backups)
    assert " 0 reused" not in second.stdout  # the second backup took unchanged files from the first
    reused = [
        p
        for p in (backups[1] / "store").rglob("*")
        if p.is_file() and (backups[0] / "store" / p.relative_to(backups[1] / "store")).exists()
        and os.stat(p).st_ino == os.stat(backups[0] / "store" / p.relative_to(backups[1] / "store")).st_ino
    ]  # fmt: skip
    assert reused, "no file of the second backup is a link to the first's"
    with SessionClient(server.address) as source:
        for backup in backups:
            target = tmp_path / f"restored-{backup.name}"
            restored = _cli("restore", str(backup), "--path", str(target))
            assert restored.returncode == 0, restored.stdout + restored.stderr
            assert _compare_with_source(target, source) > 0
        latest = _cli("restore", str(dest), "--path", str(tmp_path / "latest"))
        assert latest.returncode == 0 and backups[1].name in latest.stdout


def test_offline_backup_needs_the_store_free_and_restore_refuses_damage(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_factory(backend="rocksdb")
    with SessionClient(server.address) as client:
        sid = client.create_session(name="offline")
        client.store_artifact(sid, "big.bin", bytes(range(256)) * 400)
    held = _cli("backup", "--path", str(server.path), str(tmp_path / "b"))
    assert held.returncode == 1 and "Traceback" not in held.stderr and "STORAGE_UNAVAILABLE" in held.stderr
    server.stop()
    done = _cli("backup", "--path", str(server.path), str(tmp_path / "b"))
    assert done.returncode == 0, done.stderr
    [backup] = list((tmp_path / "b").iterdir())
    segment = next((backup / "store" / "segments").iterdir())
    original = segment.read_bytes()
    os.unlink(segment)  # a link shared with nothing else now: damage only the copy
    segment.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    damaged = _cli("restore", str(backup), "--path", str(tmp_path / "new"))
    assert damaged.returncode == 1 and "does not match its manifest (damaged)" in damaged.stderr
    assert not (tmp_path / "new").exists()
    missing = _cli("backup", "--path", str(tmp_path / "nothing"), str(tmp_path / "b2"))
    assert missing.returncode == 2 and "no store" in missing.stderr


def test_only_operators_take_backups_and_only_of_the_embedded_store(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    config = tmp_path / "auth.toml"
    lines = []
    for token, tenant, role in (("ops", "team-a", "operator"), ("admin", "team-a", "admin")):
        digest = hashlib.sha256(token.encode()).hexdigest()
        lines.append(
            f'[[auth.tokens]]\nsha256 = "{digest}"\nsubject = "{token}"\ntenant = "{tenant}"\nrole = "{role}"\n'
        )
    config.write_text("\n".join(lines))
    server = server_factory(args=["--config", str(config)], backend="rocksdb")
    with SessionClient(server.address, token="admin") as admin, pytest.raises(AccessDenied):
        list(admin.backup_store())
    refused = _cli("backup", "--target", server.address, str(tmp_path / "x"), token="admin")
    assert refused.returncode == 1 and "operator role required" in refused.stderr
    assert not any((tmp_path / "x").glob("backup-*")), "a refused backup leaves no directory"
    allowed = _cli("backup", "--target", server.address, str(tmp_path / "y"), token="ops")
    assert allowed.returncode == 0, allowed.stderr
    memory = server_factory(backend="memory")
    with SessionClient(memory.address) as client, pytest.raises(Unimplemented):
        list(client.backup_store())
