"""``llmspell-sessions check``: a clean store passes; each kind of damage written with raw keys is found.

One store is built through the embedded engine (two tenants, shared content, a resumable upload, client
chunk uploads, a fork, a rewind, deleted artifacts and sessions); each test damages its own copy with
rocksdict (or the segment files) and runs the real command.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import rocksdict
from blake3 import blake3
from llmspell_sessions import SessionManager
from llmspell_sessions.cli import main
from llmspell_sessions.engine.codec import decode_session, encode_session
from llmspell_sessions.model import Caller, Role, UploadHeader
from llmspell_sessions.storage import keys

ACME = Caller(tenant="acme", subject="alice", role=Role.WRITER)
BETA = Caller(tenant="beta", subject="bob", role=Role.ADMIN)
SHARED = bytes(range(256)) * 200  # > 10 KiB: stored compressed; held by both tenants
SMALL = b"small content, stored raw"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store with one of everything the checker looks at, and the ids a test needs to damage it."""
    path = tmp_path_factory.mktemp("check") / "store"
    with SessionManager(storage_path=str(path), start_sweeper=False, chunk_gc_grace=0, auto_checkpoint_every=4) as m:
        first = m.create_session(name="first", caller=ACME, request_id="req-1")
        m.set_session_state(first, {"k": 1}, caller=ACME)
        small = m.store_artifact(first, "small", SMALL, caller=ACME)
        m.store_artifact(first, "shared", SHARED, caller=ACME)
        m.put_artifact(UploadHeader(first, "resumed", upload_id="up-1"), SHARED[::-1], caller=ACME)
        m.create_checkpoint(first, "cp", caller=ACME)
        gone = m.store_artifact(first, "gone", b"deleted later", caller=ACME)
        m.delete_artifact(gone, caller=ACME)
        child = m.fork_session(first, caller=ACME).session_id
        m.rewind_session(child, to_seq=1, caller=ACME)
        other = m.create_session(name="other", caller=BETA)
        m.store_artifact(other, "shared", SHARED, caller=BETA)
        digest = blake3(b"client chunk").hexdigest()
        m.upload_chunks([(digest, b"client chunk")], caller=BETA)
        m.commit_artifact(UploadHeader(other, "client"), [(digest, 12)], digest, caller=BETA)
        doomed = m.create_session(name="doomed", caller=BETA)
        m.store_artifact(doomed, "x", b"doomed bytes", caller=BETA)
        m.delete_session(doomed, caller=BETA)
        m.collect_garbage()
        small_digest = m.get_artifact_info(small, caller=ACME).content_digest
    return {"path": path, "first": first, "other": other, "small": small, "small_digest": bytes.fromhex(small_digest)}


@pytest.fixture
def store(built: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """A private copy of the built store."""
    copy = tmp_path / "store"
    shutil.copytree(built["path"], copy)
    return {**built, "path": copy}


def _command(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmspell_sessions", "check", "--path", str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _check(path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    """The command's exit code and JSON output (in-process: the same code path, without the start-up)."""
    code = main(["check", "--path", str(path), "--json", *args])
    return code, json.loads(capsys.readouterr().out)


class _Raw:
    """The store opened read-write with rocksdict, for writing damage as raw keys."""

    def __init__(self, path: Path) -> None:
        names = [n for n in rocksdict.Rdict.list_cf(str(path)) if n != "default"]
        self.db = rocksdict.Rdict(
            str(path),
            options=rocksdict.Options(raw_mode=True),
            column_families={n: rocksdict.Options(raw_mode=True) for n in names},
        )
        self.cf = {n: self.db.get_column_family(n) for n in names}

    def items(self, cf: str) -> list[tuple[bytes, bytes]]:
        return list(self.cf[cf].items())

    def close(self) -> None:
        if self.cf:
            self.cf = {}
            self.db.close()


@pytest.fixture
def raw(store: dict[str, Any]) -> Iterator[_Raw]:
    db = _Raw(store["path"])
    yield db
    db.close()


def _skey(tenant: str, session_id: str) -> bytes:
    return keys.session_key(tenant, session_id)


def test_clean_store_passes_through_the_real_command(built: dict[str, Any]) -> None:
    done = _command(built["path"], "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["problems"] == [] and report["verified_bytes"]
    counts = report["counts"]
    assert counts["sessions"] == 3 and counts["chunks_verified"] == counts["chunks"] >= 4
    assert counts["artifacts_deleted"] >= 1 and counts.get("stale_request_entries", 0) == 0
    assert report["sessions_by_state"]["beta"] == {"ACTIVE": 1}
    human = _command(built["path"])
    assert human.returncode == 0 and "OK: no problems found" in human.stdout


def test_missing_store_is_a_usage_error_and_creates_nothing(tmp_path: Path) -> None:
    done = _command(tmp_path / "nowhere")
    assert done.returncode == 2 and "no store at" in done.stderr
    assert not (tmp_path / "nowhere").exists()
    assert _command(tmp_path, "--bogus-flag").returncode == 2


def _gap(db: _Raw, s: dict[str, Any]) -> None:
    db.cf["events"].delete(keys.event_key(_skey("acme", s["first"]), 2))


def _counter(db: _Raw, s: dict[str, Any]) -> None:
    db.cf["session_index"][keys.counter_key("beta", "state.1")] = b"7"


def _dangling_index(db: _Raw, s: dict[str, Any]) -> None:
    db.cf["session_index"][keys.create_index_key("acme", 1, "01900000-0000-7000-8000-000000000000")] = b""


def _stale_update_entry(db: _Raw, s: dict[str, Any]) -> None:
    prefix = keys.tenant_prefix("acme") + keys.INDEX_UPDATE
    key = next(k for k, _ in db.items("session_index") if k.startswith(prefix) and k.endswith(s["first"].encode()))
    db.cf["session_index"].delete(key)


def _artifact_count(db: _Raw, s: dict[str, Any]) -> None:
    skey = _skey("beta", s["other"])
    session = decode_session(db.cf["sessions"][skey])
    session.artifact_count += 1
    db.cf["sessions"][skey] = encode_session(session)


def _refcount(db: _Raw, s: dict[str, Any]) -> None:
    digest = s["small_digest"]  # the small artifact is one chunk: its digest is the content digest
    db.cf["refcounts"][digest] = struct.pack("<q", struct.unpack("<q", db.cf["refcounts"][digest])[0] + 1)


def _tenant_refcount(db: _Raw, s: dict[str, Any]) -> None:
    db.cf["refcounts"][b"acme\x00" + s["small_digest"]] = struct.pack("<q", 5)


def _chunk_record(db: _Raw, s: dict[str, Any]) -> None:
    db.cf["chunks"].delete(s["small_digest"])


def _gc_queued(db: _Raw, s: dict[str, Any]) -> None:
    db.cf["gc"][s["small_digest"]] = struct.pack("<q", 0)


def _name_entry(db: _Raw, s: dict[str, Any]) -> None:
    skey = _skey("acme", s["first"])
    db.cf["artifact_names"][skey + b"small\x00" + (9).to_bytes(4, "big")] = s["small"].encode()


def _checkpoint_body(db: _Raw, s: dict[str, Any]) -> None:
    skey = _skey("acme", s["first"])
    body = next(k for k, _ in db.items("checkpoints") if k.startswith(skey + b"\x00"))
    db.cf["checkpoints"].delete(body)


def _orphan_state(db: _Raw, s: dict[str, Any]) -> None:
    db.cf["state"][keys.state_key(_skey("acme", "01900000-0000-7000-8000-000000000000"), "k")] = orjson.dumps(1)


DAMAGE: list[tuple[Callable[[_Raw, dict[str, Any]], None], str]] = [
    (_gap, "event_gap"),
    (_counter, "counter_mismatch"),
    (_dangling_index, "dangling_index"),
    (_stale_update_entry, "missing_index"),
    (_artifact_count, "artifact_counter_mismatch"),
    (_refcount, "refcount_mismatch"),
    (_tenant_refcount, "tenant_refcount_mismatch"),
    (_chunk_record, "chunk_missing"),
    (_gc_queued, "gc_queued_referenced"),
    (_name_entry, "dangling_name"),
    (_checkpoint_body, "checkpoint_body_missing"),
    (_orphan_state, "orphan_state"),
]


@pytest.mark.parametrize(("damage", "kind"), DAMAGE, ids=[k for _, k in DAMAGE])
def test_damage_is_reported_with_exit_1(
    store: dict[str, Any], raw: _Raw, capsys: pytest.CaptureFixture[str], damage: Callable[..., None], kind: str
) -> None:
    damage(raw, store)
    raw.close()
    code, report = _check(store["path"], capsys)
    assert code == 1 and not report["ok"]
    assert {p["kind"] for p in report["problems"]} == {kind}, report["problems"]


def test_corrupted_blob_bytes_are_reported_unless_verification_is_off(
    store: dict[str, Any], raw: _Raw, capsys: pytest.CaptureFixture[str]
) -> None:
    segment, offset, length = struct.unpack("<IQI", raw.cf["chunks"][store["small_digest"]][:16])
    raw.close()
    path = store["path"] / "segments" / f"seg-{segment:08d}.dat"
    with open(path, "r+b") as f:
        f.seek(offset + length // 2)
        byte = f.read(1)
        f.seek(offset + length // 2)
        f.write(bytes([byte[0] ^ 0xFF]))
    done = _command(store["path"])
    assert done.returncode == 1 and "chunk_corrupt" in done.stdout, done.stdout
    assert store["small_digest"].hex() in done.stdout
    code, report = _check(store["path"], capsys, "--no-verify-bytes")
    assert code == 0 and not report["verified_bytes"]


def test_a_missing_segment_file_is_reported(store: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    for segment in (store["path"] / "segments").glob("seg-*.dat"):
        os.unlink(segment)
    code, report = _check(store["path"], capsys)
    assert code == 1 and {p["kind"] for p in report["problems"]} == {"chunk_unreadable"}
