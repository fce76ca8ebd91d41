"""The store's file system fills up or turns read-only mid-run (a real tmpfs, mounted as root).

Writes must fail with UNAVAILABLE/STORAGE_UNAVAILABLE or RESOURCE_EXHAUSTED/RESOURCE_LIMIT_EXCEEDED,
never INTERNAL; reads keep working; once space (or write access) returns the server writes again, and
nothing written before, during or after is corrupted.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from blake3 import blake3
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import LlmspellError

from tests.helpers.consistency import check_store
from tests.helpers.server import ServerProcess

pytestmark = pytest.mark.embedded_only  # a full or read-only disk under RocksDB itself

MiB = 1024 * 1024
CLEAN_FAILURES = {("UNAVAILABLE", "STORAGE_UNAVAILABLE"), ("RESOURCE_EXHAUSTED", "RESOURCE_LIMIT_EXCEEDED")}


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 64 MiB tmpfs; skipped where this process may not mount."""
    mount = tmp_path / "mnt"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'not root'}): disk-full not testable")
    try:
        yield mount
    finally:
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(mount: Path) -> Path:
    """Fills the file system to the last byte; returns the filler file."""
    filler = mount / "filler"
    with open(filler, "wb", buffering=0) as out:
        block = b"\0" * MiB
        while True:
            try:
                out.write(block)
            except OSError as error:
                assert error.errno == errno.ENOSPC
                if len(block) == 1:
                    return filler
                block = block[: len(block) // 2]


def _attempt(write: Callable[[], object], outcomes: list[str]) -> bool:
    """Runs one write; a failure must be a clean storage error. True when it succeeded."""
    try:
        write()
    except LlmspellError as error:
        assert (error.code, error.reason) in CLEAN_FAILURES, f"{error.code}/{error.reason}: {error.message}"
        outcomes.append(error.code)
        return False
    outcomes.append("OK")
    return True


def _writes(c: SessionClient, sid: str, n: int) -> list[Callable[[], object]]:
    return [
        lambda: c.store_artifact(sid, f"big-{n}", os.urandom(6 * MiB)),
        lambda: c.store_artifact(sid, f"small-{n}", os.urandom(2000)),
        lambda: c.set_session_state(sid, {f"k{n}": "v" * 5000}),
        lambda: c.create_session(name=f"during-{n}"),
        lambda: c.save_session(sid),
    ]


def _check_reads(c: SessionClient, sid: str, known: dict[str, str]) -> None:
    assert c.get_session(sid).session_id == sid
    assert c.get_session_state(sid)["before"] == 1
    for artifact_id, digest in known.items():
        _, content = c.get_artifact(sid, artifact_id)
        assert blake3(content).hexdigest() == digest
    listed = c.list_artifacts(sid, page_size=1000).items
    for artifact in listed:  # whatever is visible must be whole
        _, content = c.get_artifact(sid, artifact.artifact_id)
        assert blake3(content).hexdigest() == artifact.content_digest and len(content) == artifact.size


def _store(c: SessionClient, sid: str, name: str, size: int, known: dict[str, str]) -> None:
    data = os.urandom(size)
    known[c.store_artifact(sid, name, data)] = blake3(data).hexdigest()


def _during_fault(c: SessionClient, sid: str, known: dict[str, str], fault: Callable[[], None]) -> list[str]:
    """Seeds the store, applies the fault, then tries every kind of write and checks reads each round."""
    outcomes: list[str] = []
    c.set_session_state(sid, {"before": 1})
    for n in range(3):
        _store(c, sid, f"before-{n}", 2 * MiB + n, known)
    fault()
    for n in range(3):
        for write in _writes(c, sid, n):
            _attempt(write, outcomes)
        _check_reads(c, sid, known)
    assert outcomes.count("OK") < len(outcomes), "some write should have met the fault"
    return outcomes


def _after_heal(c: SessionClient, sid: str, known: dict[str, str]) -> None:
    for n in range(3):
        _store(c, sid, f"after-{n}", 3 * MiB + n, known)
        c.set_session_state(sid, {"after": n})
    c.save_session(sid)
    _check_reads(c, sid, known)


def test_disk_full_then_space_returns(server_factory: Callable[..., ServerProcess], small_fs: Path) -> None:
    """After a restart once space returns, everything written before the fault is intact."""
    server = server_factory(path=small_fs / "store")
    known: dict[str, str] = {}
    with SessionClient(server.address, timeout=30) as c:
        sid = c.create_session(name="disk")
        outcomes = _during_fault(c, sid, known, lambda: _fill(small_fs))
    print("disk full outcomes:", outcomes)
    (small_fs / "filler").unlink()
    assert server.terminate() == 0
    check_store(server.path)
    server.start()
    with SessionClient(server.address, timeout=30) as c:
        _check_reads(c, sid, known)
        _after_heal(c, sid, known)
    assert server.terminate() == 0
    check_store(server.path)


def test_writes_resume_without_restart_once_space_returns(
    server_factory: Callable[..., ServerProcess], small_fs: Path
) -> None:
    server = server_factory(path=small_fs / "store")
    known: dict[str, str] = {}
    with SessionClient(server.address, timeout=30) as c:
        sid = c.create_session(name="disk")
        _during_fault(c, sid, known, lambda: _fill(small_fs))
        (small_fs / "filler").unlink()
        _after_heal(c, sid, known)


def test_clean_stop_after_a_storage_error(server_factory: Callable[..., ServerProcess], small_fs: Path) -> None:
    server = server_factory(path=small_fs / "store")
    with SessionClient(server.address, timeout=30) as c:
        _during_fault(c, c.create_session(name="disk"), {}, lambda: _fill(small_fs))
    (small_fs / "filler").unlink()
    assert server.terminate() == 0


def test_segment_short_write_does_not_misplace_later_blobs(small_fs: Path) -> None:
    from llmspell_sessions.errors import Unavailable
    from llmspell_sessions.storage.blobs import SegmentBlobStore

    store = SegmentBlobStore(small_fs / "segments")
    try:
        filler = _fill(small_fs)
        with open(filler, "r+b") as out:  # leave room for half a blob: the write is cut short
            out.truncate(filler.stat().st_size - 512 * 1024)
        with pytest.raises(Unavailable):
            store.append([(b"\0" * 32, os.urandom(MiB))])
        filler.unlink()
        blob = os.urandom(1000)
        [location] = store.append([(b"\1" * 32, blob)])
        store.sync()
        assert store.read(b"\1" * 32, location) == blob
    finally:
        store.close()


def test_read_only_store_refuses_to_start_cleanly(server_factory: Callable[..., ServerProcess], small_fs: Path) -> None:
    server = server_factory(path=small_fs / "store")
    with SessionClient(server.address) as c:
        c.create_session(name="ro")
    assert server.terminate() == 0
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    try:
        with pytest.raises(RuntimeError) as caught:
            server.start(timeout=20)
        log = "".join(server.log)
        assert "STORAGE_UNAVAILABLE" in log and "Traceback" not in log, log
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_fs)], check=True)
    assert caught.value
    server.start()
    with SessionClient(server.address) as c:
        assert c.list_sessions().total_size == 1
    code = server.terminate()
    assert code == 0, "".join(server.log)
    check_store(server.path)
