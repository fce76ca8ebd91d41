"""Archive rules in-process (the server tests are tests/ops/test_archives.py): round trips are exact,
and archives that are well-formed but lie (a newer version, counters that hide bytes from quotas,
an artifact id in use) are refused with nothing written."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterator

import orjson
import pytest
from blake3 import blake3
from llmspell_sessions import SessionManager
from llmspell_sessions.errors import ArchiveConflict, InvalidArchive
from llmspell_sessions.model import Caller, Role, SessionState

ALICE = Caller(tenant="acme", subject="alice", role=Role.WRITER)
ADMIN = Caller(tenant="other", subject="root", role=Role.ADMIN)


@pytest.fixture
def engines() -> Iterator[tuple[SessionManager, SessionManager]]:
    with SessionManager(storage_backend="memory") as a, SessionManager(storage_backend="memory") as b:
        yield a, b


def _export(m: SessionManager, ids: list[str], caller: Caller = ALICE) -> bytes:
    out = io.BytesIO()
    m.export_sessions(ids, out, caller=caller)
    return out.getvalue()


def _members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]


def _rebuild(data: bytes, change: Callable[[str, bytes], bytes], rename: Callable[[str], str] = str) -> bytes:
    """The archive with members changed (and renamed) and the manifest's sizes, digests and seal made to fit."""
    members = {rename(name): change(name, body) for name, body in _members(data).items()}
    manifest = orjson.loads(members["manifest.json"])
    manifest = orjson.loads(change("manifest", orjson.dumps(manifest)))
    for entry in manifest["members"]:
        entry["size"], entry["blake3"] = len(members[entry["name"]]), blake3(members[entry["name"]]).hexdigest()
    members["manifest.json"] = orjson.dumps(manifest)
    members["manifest.blake3"] = blake3(members["manifest.json"]).hexdigest().encode()
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, body in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return out.getvalue()


def _one(m: SessionManager) -> str:
    sid = m.create_session(name="one", caller=ALICE)
    m.set_session_state(sid, {"k": [1, 2.5, "x"]}, caller=ALICE)
    m.store_artifact(sid, "a.bin", bytes(range(256)) * 100, caller=ALICE)
    m.create_checkpoint(sid, "cp", caller=ALICE)
    return sid


def test_export_import_export_gives_the_same_members(engines: tuple[SessionManager, SessionManager]) -> None:
    a, b = engines
    sid = _one(a)
    child = a.fork_session(sid, caller=ALICE).session_id
    data = _export(a, [sid, child])
    report = b.import_sessions(io.BytesIO(data), caller=ALICE)
    assert report.imported == [sid, child] and report.chunks_stored >= 1
    again = _members(_export(b, [sid, child]))
    assert {k: v for k, v in again.items() if k.startswith(("sessions/", "chunks/"))} == {
        k: v for k, v in _members(data).items() if k.startswith(("sessions/", "chunks/"))
    }
    assert b.get_session(child, caller=ALICE).parent_session_id == sid


def test_a_newer_format_version_is_refused(engines: tuple[SessionManager, SessionManager]) -> None:
    a, b = engines

    def newer(name: str, body: bytes) -> bytes:
        return body.replace(b'"version":1', b'"version":2') if name == "manifest" else body

    data = _rebuild(_export(a, [_one(a)]), newer)
    with pytest.raises(InvalidArchive, match="newer"):
        b.import_sessions(io.BytesIO(data), caller=ALICE)


def test_counters_that_hide_bytes_from_quotas_are_refused(engines: tuple[SessionManager, SessionManager]) -> None:
    a, b = engines
    sid = _one(a)

    def lie(name: str, body: bytes) -> bytes:
        return body.replace(b'"artifact_bytes":25600', b'"artifact_bytes":0') if name.startswith("sessions/") else body

    data = _rebuild(_export(a, [sid]), lie)
    assert b'"artifact_bytes":0' in data
    with pytest.raises(InvalidArchive, match="artifact_bytes"):
        b.import_sessions(io.BytesIO(data), caller=ALICE)
    assert b.list_sessions(states=[SessionState.ACTIVE], caller=ALICE).items == []


def test_an_artifact_id_in_use_is_a_conflict(engines: tuple[SessionManager, SessionManager]) -> None:
    a, b = engines
    sid = _one(a)
    data = _export(a, [sid])
    b.import_sessions(io.BytesIO(data), caller=ADMIN)
    other = a.create_session(name="other", caller=ALICE)
    moved = _rebuild(
        data, lambda name, body: body.replace(sid.encode(), other.encode()), lambda name: name.replace(sid, other)
    )
    with pytest.raises(ArchiveConflict, match="artifact id"):  # same artifact id, another session of the same tenant
        b.import_sessions(io.BytesIO(moved), caller=ADMIN)
    with pytest.raises(Exception, match="not found"):
        b.get_session(other, caller=ADMIN)
