"""Portable session archives over real server processes: export from one store, import into others
(another backend, another tenant), compared field by field; tampered and truncated archives refused
with nothing written; a second import changes nothing; access and quotas apply.

The source store is built in-process (embedded RocksDB), exported by the CLI on the directory, then
served; every other step goes through gRPC to server processes started by the test.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from blake3 import blake3
from llmspell_sessions import SessionManager
from llmspell_sessions.check import check_storage, format_report
from llmspell_sessions.client import AsyncSessionClient, SessionClient
from llmspell_sessions.errors import AccessDenied, ArchiveConflict, InvalidArchive, ResourceExhausted, SessionNotFound
from llmspell_sessions.model import Caller, EventSpec, Role, SessionState
from llmspell_sessions.storage.postgres import PostgresStorage

from tests.helpers.server import ServerProcess

TOKENS = {
    "alice-w": ("alice", "team-a", "writer"),
    "alice-r": ("alice-reader", "team-a", "reader"),
    "carol-w": ("carol", "team-a", "writer"),
    "b-admin": ("boss", "team-b", "admin"),
}
ALICE = Caller(tenant="team-a", subject="alice", role=Role.WRITER)
BIG = bytes(range(256)) * 200  # 51,200 bytes that LZ4 shrinks: stored compressed
SHARED = b"the same bytes in two sessions " * 500  # 15.5 KiB, one chunk stored once


def _config(path: Path, extra: str = "") -> Path:
    lines = [extra]
    for token, (subject, tenant, role) in TOKENS.items():
        digest = hashlib.sha256(token.encode()).hexdigest()
        lines.append(
            f'[[auth.tokens]]\nsha256 = "{digest}"\nsubject = "{subject}"\ntenant = "{tenant}"\nrole = "{role}"\n'
        )
    config = path / f"server-{abs(hash(extra))}.toml"
    config.write_text("\n".join(lines))
    return config


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmspell_sessions", *args], capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Three sessions of alice (team-a) with one of everything, exported by the CLI from the directory,
    then served (tokens of TOKENS)."""
    root = tmp_path_factory.mktemp("archives")
    path = root / "source"
    with SessionManager(storage_path=str(path), start_sweeper=False, auto_checkpoint_every=4) as m:
        first = m.create_session(name="first", tags=["a"], metadata={"k": [1, 2]}, caller=ALICE)
        m.set_session_state(first, {"plan": {"steps": ["search", "write"]}, "turn": 1}, caller=ALICE)
        m.append_events(first, [EventSpec("agent.thought", {"text": "hmm", "n": 1.5})], caller=ALICE)
        m.store_artifact(first, "big.bin", BIG, caller=ALICE)
        m.store_artifact(first, "shared.txt", SHARED, caller=ALICE)
        m.store_artifact(first, "notes.md", b"v1", caller=ALICE)
        m.store_artifact(first, "notes.md", b"v2 longer", caller=ALICE)
        gone = m.store_artifact(first, "gone", b"deleted later", caller=ALICE)
        m.delete_artifact(gone, caller=ALICE)
        m.create_checkpoint(first, "before-fork", caller=ALICE)
        fork = m.fork_session(first, name="fork", caller=ALICE).session_id
        m.set_session_state(fork, {"turn": 2}, delete_keys=["plan"], caller=ALICE)
        m.set_session_state(first, {"turn": 3}, caller=ALICE)
        second = m.create_session(name="second", caller=ALICE)
        m.store_artifact(second, "shared-too.txt", SHARED, caller=ALICE)
        m.complete_session(second, caller=ALICE)
    ids = [first, second, fork]
    embedded = root / "embedded.tar"
    done = _cli("export", *ids, "-o", str(embedded), "--path", str(path), "--tenant", "team-a")
    assert done.returncode == 0, done.stderr
    server = ServerProcess(path, args=["--config", str(_config(root))]).start()
    with SessionClient(server.address, token="alice-w") as client:
        out = io.BytesIO()
        client.export_sessions(ids, out)
    yield {"server": server, "ids": ids, "archive": out.getvalue(), "embedded": embedded.read_bytes(), "root": root}
    server.stop()


@pytest.fixture
def target(server_factory: Callable[..., ServerProcess], tmp_path: Path) -> ServerProcess:
    """An empty server over the memory backend, with the same tokens."""
    return server_factory(args=["--config", str(_config(tmp_path))], backend="memory")


def _view(client: SessionClient, sid: str) -> dict[str, Any]:
    """Everything a client can see of a session: record, state, every event, every checkpoint's
    snapshot, every artifact version with its content."""
    session = client.get_session(sid)
    record = {k: getattr(session, k) for k in session.__slots__ if k != "expire_time"}
    events = []
    page = client.list_events(sid, page_size=1000)
    events += [(e.seq, e.type, e.payload, e.time, e.actor, e.correlation_id) for e in page.items]
    checkpoints = [(c.checkpoint_id, c.seq, c.label, c.create_time) for c in client.list_checkpoints(sid).items]
    snapshots = [_snapshot(client.get_snapshot(sid, checkpoint_id=c[0])) for c in checkpoints]
    artifacts = []
    for a in client.list_artifacts(sid, all_versions=True, page_size=1000).items:
        _, content = client.get_artifact(sid, a.artifact_id)
        artifacts.append((a.artifact_id, a.name, a.version, a.size, a.content_digest, blake3(content).hexdigest()))
    state = client.get_session_state(sid)
    return {"record": record, "state": state, "events": events, "checkpoints": checkpoints, "snapshots": snapshots,
            "artifacts": sorted(artifacts)}  # fmt: skip


def _snapshot(snapshot: Any) -> tuple[Any, ...]:
    return (snapshot.seq, snapshot.state, sorted(a.artifact_id for a in snapshot.artifacts))


def _views(address: str, token: str, ids: list[str]) -> dict[str, Any]:
    with SessionClient(address, token=token) as client:
        return {sid: _view(client, sid) for sid in ids}


def _empty(address: str, token: str) -> None:
    with SessionClient(address, token=token) as client:
        states = [s for s in SessionState if s != SessionState.UNSPECIFIED]
        assert client.list_sessions(states=states).items == []
        assert client.get_storage_stats().artifact_count == 0


def test_archive_round_trips_into_another_server_and_tenant(source: dict[str, Any], target: ServerProcess) -> None:
    ids = source["ids"]
    expected = _views(source["server"].address, "alice-w", ids)
    assert len(expected[ids[0]]["events"]) >= 10 and expected[ids[0]]["checkpoints"]
    assert expected[ids[2]]["record"]["parent_session_id"] == ids[0]
    with SessionClient(target.address, token="alice-w") as client:
        report = client.import_sessions(io.BytesIO(source["archive"]))
    assert report.imported == ids and report.skipped == []
    assert report.chunks_stored >= 4  # BIG's, SHARED's (once) and the small ones
    assert _views(target.address, "alice-w", ids) == expected
    with SessionClient(target.address, token="b-admin") as client:  # another tenant, ids kept
        assert client.import_sessions(io.BytesIO(source["archive"])).imported == ids
    assert _views(target.address, "b-admin", ids) == expected
    with SessionClient(source["server"].address, token="alice-w") as client:
        source_stats = client.get_storage_stats()
    with SessionClient(target.address, token="alice-w") as client:
        listed = client.list_sessions(states=[SessionState.ACTIVE, SessionState.COMPLETED], order_by="name")
        assert [s.name for s in listed.items] == ["first", "fork", "second"] and listed.total_size == 3
        assert client.list_sessions(parent_session_id=ids[0]).items[0].session_id == ids[2]
        stats = client.get_storage_stats()
        assert (stats.artifact_count, stats.logical_bytes, stats.unique_chunks) == (
            source_stats.artifact_count,
            source_stats.logical_bytes,
            source_stats.unique_chunks,
        )
        big = next(a for a in client.list_artifacts(ids[0]).items if a.name == "big.bin")
        assert big.compressed and big.stored_size < len(BIG)


def test_archive_lists_sessions_digests_and_each_chunk_once(source: dict[str, Any]) -> None:
    with tarfile.open(fileobj=io.BytesIO(source["archive"])) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        chunk = tar.extractfile(f"chunks/{blake3(SHARED).hexdigest()}").read()  # type: ignore[union-attr]
    assert names[0] == "manifest.json" and names[-1] == "manifest.blake3"
    assert manifest["version"] == 1 and [s["session_id"] for s in manifest["sessions"]] == source["ids"]
    assert sorted(e["name"] for e in manifest["members"]) == sorted(names[1:-1])
    assert chunk == SHARED  # stored in two sessions, archived once
    assert len(names) == len(set(names)) == 1 + 3 + len([n for n in names if n.startswith("chunks/")]) + 1


def test_export_is_deterministic_per_session(source: dict[str, Any]) -> None:
    """The CLI's embedded export and the server's hold the same session members."""

    def members(data: bytes) -> dict[str, bytes]:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            return {m.name: tar.extractfile(m).read() for m in tar if m.name.startswith(("sessions/", "chunks/"))}  # type: ignore[union-attr]

    assert members(source["embedded"]) == members(source["archive"])


def test_embedded_store_moves_to_memory_and_postgres_servers(
    source: dict[str, Any], server_factory: Callable[..., ServerProcess], tmp_path: Path, postgres_dsn: str
) -> None:
    ids = source["ids"]
    expected = _views(source["server"].address, "alice-w", ids)
    archive = tmp_path / "embedded.tar"
    archive.write_bytes(source["embedded"])
    config = str(_config(tmp_path))
    memory = server_factory(args=["--config", config], backend="memory")
    postgres = server_factory(args=["--config", config, "--postgres-dsn", postgres_dsn], backend="postgres")
    for server in (memory, postgres):
        done = _cli("import", str(archive), "--target", server.address, "--token", "alice-w", "--json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["imported"] == ids
        assert _views(server.address, "alice-w", ids) == expected
    storage = PostgresStorage(postgres_dsn)  # counters, references and chunks agree with the records
    try:
        report = check_storage(storage, postgres.path / "segments", name=postgres_dsn)
        assert report.ok, format_report(report)
    finally:
        storage.close()


def test_import_into_a_directory_keeps_the_store_consistent(source: dict[str, Any], tmp_path: Path) -> None:
    archive = tmp_path / "a.tar"
    archive.write_bytes(source["archive"])
    store = tmp_path / "store"
    done = _cli("import", str(archive), "--path", str(store), "--tenant", "team-a")
    assert done.returncode == 0, done.stderr
    checked = _cli("check", "--path", str(store))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    again = _cli("import", str(archive), "--path", str(store), "--tenant", "team-a", "--json")
    assert json.loads(again.stdout)["skipped"] == source["ids"]


def _tampered(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_a_changed_byte_is_refused_and_nothing_is_written(source: dict[str, Any], target: ServerProcess) -> None:
    data = source["archive"]
    places = {
        "state": data.index(b'"search"') + 2,
        "event": data.index(b'"agent.thought"') + 3,
        "chunk": data.index(SHARED[:64]) + 10,
        "manifest": data.index(b'"created"') + 14,
        "seal": data.rindex(b"manifest.blake3") + 512 + 3,
    }
    with SessionClient(target.address, token="alice-w") as client:
        for where, at in places.items():
            with pytest.raises(InvalidArchive) as caught:
                client.import_sessions(io.BytesIO(_tampered(data, at)))
            assert caught.value.reason == "INVALID_ARCHIVE" and caught.value.code == "INVALID_ARGUMENT", where
    _empty(target.address, "alice-w")


def test_a_truncated_archive_is_refused(source: dict[str, Any], target: ServerProcess) -> None:
    data = source["archive"]
    seal = data.rindex(b"manifest.blake3")
    with SessionClient(target.address, token="alice-w") as client:
        for end in (0, 100, 1024, len(data) // 2, seal - 512, seal + 512 + 32):
            with pytest.raises(InvalidArchive):
                client.import_sessions(io.BytesIO(data[:end]))
    _empty(target.address, "alice-w")


def test_a_second_import_changes_nothing_and_a_diverged_session_conflicts(
    source: dict[str, Any], target: ServerProcess
) -> None:
    ids = source["ids"]
    with SessionClient(target.address, token="alice-w") as client:
        client.import_sessions(io.BytesIO(source["archive"]))
        before = _views(target.address, "alice-w", ids)
        report = client.import_sessions(io.BytesIO(source["archive"]))
        assert report.imported == [] and report.skipped == ids and report.chunks_stored == 0
        assert _views(target.address, "alice-w", ids) == before
        client.delete_session(ids[1])
        client.set_session_state(ids[2], {"diverged": True})
        with pytest.raises(ArchiveConflict):
            client.import_sessions(io.BytesIO(source["archive"]))
        with pytest.raises(SessionNotFound):  # the conflict wrote nothing, not even the missing one
            client.get_session(ids[1])


def test_async_client_exports_and_imports(source: dict[str, Any], target: ServerProcess) -> None:
    async def move() -> tuple[Any, Any]:
        async with AsyncSessionClient(source["server"].address, token="alice-w") as client:
            out = io.BytesIO()
            await client.export_sessions(source["ids"][:1], out)
        async with AsyncSessionClient(target.address, token="alice-w") as client:
            report = await client.import_sessions(io.BytesIO(out.getvalue()))
            return report, await client.get_session(source["ids"][0])

    report, session = asyncio.run(move())
    assert report.imported == source["ids"][:1] and session.name == "first"


def test_links_to_sessions_left_out_stay_plain_ids(source: dict[str, Any], target: ServerProcess) -> None:
    first, _, fork = source["ids"]
    out = io.BytesIO()
    with SessionClient(source["server"].address, token="alice-w") as client:
        client.export_sessions([fork], out)
    with SessionClient(target.address, token="alice-w") as client:
        client.import_sessions(io.BytesIO(out.getvalue()))
        assert client.get_session(fork).parent_session_id == first
        with pytest.raises(SessionNotFound):
            client.get_session(first)


def test_access_and_quotas_apply(
    source: dict[str, Any], target: ServerProcess, server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    first = source["ids"][0]
    with SessionClient(source["server"].address, token="carol-w") as client, pytest.raises(AccessDenied):
        client.export_sessions([first], io.BytesIO())  # same tenant, not hers, no grant
    with SessionClient(source["server"].address, token="b-admin") as client, pytest.raises(SessionNotFound):
        client.export_sessions([first], io.BytesIO())  # another tenant: not found
    with SessionClient(target.address, token="alice-r") as client, pytest.raises(AccessDenied):
        client.import_sessions(io.BytesIO(source["archive"]))  # readers never write
    with SessionClient(target.address, token="carol-w") as client, pytest.raises(AccessDenied):
        client.import_sessions(io.BytesIO(source["archive"]))  # alice's sessions: an admin's job
    _empty(target.address, "alice-w")
    small = server_factory(args=["--config", str(_config(tmp_path, "max_sessions = 1"))], backend="memory")
    with SessionClient(small.address, token="alice-w") as client:
        with pytest.raises(ResourceExhausted):  # two of the three are ACTIVE
            client.import_sessions(io.BytesIO(source["archive"]))
    _empty(small.address, "alice-w")


def test_cli_pipes_an_archive_from_one_server_to_another(source: dict[str, Any], target: ServerProcess) -> None:
    first = source["ids"][0]
    command = [sys.executable, "-m", "llmspell_sessions"]
    out = subprocess.run(
        [*command, "export", first, "--target", source["server"].address, "--token", "alice-w"],
        capture_output=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    done = subprocess.run(
        [*command, "import", "-", "--target", target.address, "--token", "alice-w"],
        input=out.stdout,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert first.encode() in done.stdout
    refused = subprocess.run(
        [*command, "import", "-", "--target", target.address, "--token", "alice-w"],
        input=out.stdout[: len(out.stdout) // 2],
        capture_output=True,
        timeout=120,
    )
    assert refused.returncode == 1 and refused.stderr.startswith(b"error: INVALID_ARCHIVE")


def test_an_archive_past_max_archive_bytes_is_cut_off_and_writes_nothing(
    source: dict[str, Any], server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data = source["archive"]
    small = server_factory(
        args=["--config", str(_config(tmp_path))],
        env={"LLMSPELL_SESSION_MAX_ARCHIVE_BYTES": str(len(data) // 2)},
        backend="memory",
    )
    with SessionClient(small.address, token="alice-w") as client, pytest.raises(ResourceExhausted) as caught:
        client.import_sessions(io.BytesIO(data))
    assert caught.value.metadata.get("limit") == "max_archive_bytes"
    _empty(small.address, "alice-w")
    with SessionManager(storage_backend="memory", max_archive_bytes=len(data) - 1) as manager:
        with pytest.raises(ResourceExhausted):
            manager.import_sessions(io.BytesIO(data), caller=ALICE)  # a seekable source: checked by its size
