"""Defects the stateful model found (or that were pinned beside it), each reproduced in a few calls
and kept fixed: expiry after UploadChunks, a denial that changed the etag, a rewind that leaked a
chunk reference, a fork of reclaimed content."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from blake3 import blake3
from llmspell_sessions import SessionManager
from llmspell_sessions.check import check_store, format_report
from llmspell_sessions.errors import AccessDenied, MissingChunks
from llmspell_sessions.model import Caller, Role

ALICE = Caller("t1", "alice", Role.WRITER)
BOB = Caller("t1", "bob", Role.WRITER)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[SessionManager]:
    with SessionManager(
        storage_path=str(tmp_path / "store"),
        start_sweeper=False,
        chunk_gc_grace=0,
        rate_limit_global=0,
        rate_limit_per_session=0,
    ) as m:
        yield m


def _consistent(m: SessionManager, path: Path) -> None:
    m.close()
    report = check_store(path)
    assert report.ok, format_report(report)


def test_rewind_swapping_artifacts_of_one_content_keeps_refcounts(engine: SessionManager, tmp_path: Path) -> None:
    sid = engine.create_session()
    first = engine.store_artifact(sid, "x", b"same")  # seq 2
    engine.delete_artifact(first)
    engine.store_artifact(sid, "y", b"same")
    engine.rewind_session(sid, to_seq=2)  # removes y, restores x: one reference to b"same" remains
    _consistent(engine, tmp_path / "store")  # today: refcount 2, references held 1


def test_fork_at_a_point_whose_content_was_collected_is_refused_or_whole(
    engine: SessionManager, tmp_path: Path
) -> None:
    sid = engine.create_session()
    artifact = engine.store_artifact(sid, "x", b"collected soon")  # seq 2
    engine.delete_artifact(artifact)
    engine.collect_garbage()
    try:
        child = engine.fork_session(sid, at_seq=2).session_id
    except MissingChunks:
        assert engine.list_sessions().total_size == 1  # refused, as rewind is: nothing was created
        return
    for copy in engine.list_artifacts(child).items:
        engine.get_artifact(child, copy.artifact_id)  # today: DataLoss, the chunk is gone
    _consistent(engine, tmp_path / "store")


def test_expire_uploads_after_upload_chunks(engine: SessionManager) -> None:
    engine.upload_chunks([(blake3(b"chunk").hexdigest(), b"chunk")])
    assert engine.expire_uploads() == 0


def test_a_denied_read_leaves_the_etag_alone(engine: SessionManager) -> None:
    sid = engine.create_session(caller=ALICE)
    etag = engine.get_session(sid, caller=ALICE).etag
    with pytest.raises(AccessDenied):
        engine.get_session(sid, caller=BOB)
    assert engine.get_session(sid, caller=ALICE).etag == etag
