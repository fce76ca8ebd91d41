"""The engine over the postgres backend (records in a real PostgreSQL database, chunk bytes in segment
files), embedded and behind the real server: a representative slice of the service, then the store
checker reading the database back through the Storage protocol."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.check import check_storage, format_report
from llmspell_sessions.client import SessionClient
from llmspell_sessions.config import load_config
from llmspell_sessions.errors import InvalidArgument, SessionNotFound
from llmspell_sessions.model import Caller, Role, UploadHeader
from llmspell_sessions.storage.blobs import SegmentBlobStore
from llmspell_sessions.storage.build import build_blob_store, build_storage
from llmspell_sessions.storage.postgres import PostgresStorage

from tests.helpers.server import ServerProcess

ACME = Caller(tenant="acme", subject="alice", role=Role.WRITER)
BETA = Caller(tenant="beta", subject="bob", role=Role.WRITER)
SHARED = bytes(range(256)) * 200  # > 10 KiB: stored compressed; held by both tenants


def test_the_engine_over_postgres(postgres_dsn: str, tmp_path: Path) -> None:
    path = tmp_path / "store"
    with SessionManager(
        storage_backend="postgres",
        postgres_dsn=postgres_dsn,
        storage_path=str(path),
        start_sweeper=False,
        chunk_gc_grace=0,
        auto_checkpoint_every=4,
    ) as m:
        first = m.create_session(name="first", tags=["t"], caller=ACME, request_id="req-1")
        assert m.create_session(name="first", caller=ACME, request_id="req-1") == first  # idempotent
        second = m.create_session(name="second", caller=ACME)
        assert {s.session_id for s in m.list_sessions(caller=ACME).items} == {first, second}
        assert m.list_sessions(caller=BETA).items == []  # tenants never see each other

        m.set_session_state(first, {"k": 1, "gone": True}, caller=ACME)
        m.set_session_state(first, {"k": 2}, delete_keys=["gone"], caller=ACME)
        assert m.get_session_state(first, caller=ACME) == {"k": 2}

        a1 = m.store_artifact(first, "shared", SHARED, caller=ACME)
        a2 = m.store_artifact(second, "copy", SHARED, caller=ACME)  # same bytes: deduplicated
        m.put_artifact(UploadHeader(first, "resumed", upload_id="up-1"), SHARED[::-1], caller=ACME)
        assert m.get_artifact(first, a1, caller=ACME)[1] == SHARED
        assert m.get_artifact(second, a2, caller=ACME)[1] == SHARED
        stats = m.get_storage_stats(caller=ACME)
        assert stats.logical_bytes == 3 * len(SHARED) and stats.dedup_ratio > 1

        appended = m.append_events(first, [{"type": "agent.step", "payload": {"n": i}} for i in range(3)], caller=ACME)
        events = m.list_events(first, page_size=1000, caller=ACME).items
        assert [e.seq for e in events] == list(range(1, len(events) + 1))  # gapless
        assert events[-1].seq == appended[-1].seq
        checkpoint = m.create_checkpoint(first, "cp", caller=ACME)

        child = m.fork_session(first, checkpoint_id=checkpoint.checkpoint_id, name="child", caller=ACME).session_id
        assert m.get_session_state(child, caller=ACME) == {"k": 2}
        assert sorted(a.name for a in m.list_artifacts(child, caller=ACME).items) == ["resumed", "shared"]
        m.set_session_state(child, {"k": 3}, caller=ACME)
        m.store_artifact(child, "later", b"added after the fork", caller=ACME)
        m.rewind_session(child, to_seq=1, caller=ACME)  # back to the fork point
        assert m.get_session_state(child, caller=ACME) == {"k": 2}
        assert sorted(a.name for a in m.list_artifacts(child, caller=ACME).items) == ["resumed", "shared"]

        other = m.create_session(name="other", caller=BETA)
        m.store_artifact(other, "shared", SHARED, caller=BETA)
        gone = m.store_artifact(first, "gone", b"deleted later", caller=ACME)
        m.delete_artifact(gone, caller=ACME)
        m.delete_session(second, caller=ACME)
        with pytest.raises(SessionNotFound):
            m.get_session(second, caller=ACME)
        m.collect_garbage()
        config = m.config

    # Reopened: everything is in PostgreSQL and the segment files, nothing in the process.
    with SessionManager(config, start_sweeper=False) as m:
        assert m.get_artifact(first, a1, caller=ACME)[1] == SHARED
        assert m.get_session_state(first, caller=ACME) == {"k": 2}

    storage = PostgresStorage(postgres_dsn)
    try:
        report = check_storage(storage, path / "segments", name=postgres_dsn)
        assert report.ok, format_report(report)
        assert report.counts["sessions"] >= 3
        # The checker really reads the database: a lost event is a gap in a log.
        with psycopg.connect(postgres_dsn, autocommit=True) as conn:
            events = "llmspell_sessions.events"
            conn.execute(f"DELETE FROM {events} WHERE key = (SELECT key FROM {events} ORDER BY key LIMIT 1)")
        assert not check_storage(storage, path / "segments").ok
    finally:
        storage.close()


def test_configuration_builds_postgres_with_segment_files(postgres_dsn: str, tmp_path: Path) -> None:
    environ = {"LLMSPELL_SESSION_BACKEND": "postgres", "LLMSPELL_SESSION_POSTGRES_DSN": postgres_dsn}
    config = load_config(overrides={"storage_path": str(tmp_path)}, environ=environ)[0]
    assert config.postgres_dsn == postgres_dsn
    storage, blobs = build_storage(config), build_blob_store(config)
    try:
        assert isinstance(storage, PostgresStorage)
        assert isinstance(blobs, SegmentBlobStore)  # chunk bytes stay in files under storage_path
    finally:
        storage.close()
        blobs.close()
    with pytest.raises(InvalidArgument, match="postgres_dsn"):
        load_config(environ={"LLMSPELL_SESSION_BACKEND": "postgres"})


def test_serve_over_postgres(server_factory: Callable[..., ServerProcess], postgres_dsn: str) -> None:
    server = server_factory(backend="postgres", args=["--postgres-dsn", postgres_dsn])
    with SessionClient(server.address) as client:
        sid = client.create_session(name="over postgres")
        assert client.get_session(sid).name == "over postgres"
        content = bytes(range(256)) * 1000
        artifact = client.upload_artifact(UploadHeader(sid, "blob"), [content[:100_000], content[100_000:]])
        info, chunks = client.download_artifact(artifact.artifact_id)
        assert b"".join(chunks) == content and info.size == len(content)
    server.terminate()
    server.start()  # the same database after a restart
    with SessionClient(server.address) as client:
        assert client.get_artifact(sid, artifact.artifact_id)[1] == content
