"""Content lifetime: chunks an acknowledged artifact needs are never collected, and chunks nothing
needs any more are (reference counts stay exact, maintenance keeps running).

These run the embedded engine over a real RocksDB store with ``chunk_gc_grace = 0`` and drive its
public maintenance methods by hand, so garbage collection happens exactly between the steps a test
names.
"""

from __future__ import annotations

import os
import random
import threading
import time

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.errors import DataLoss, LlmspellError, MissingChunks
from llmspell_sessions.model import UploadHeader

from .conftest import EngineFactory
from .support import KiB, MiB, chunk_pieces, chunk_plan, digest

RACE_ROUNDS = 40


def _commit_racing_gc(
    m: SessionManager, sid: str, name: str, content: bytes, gc_delay: float
) -> tuple[str, LlmspellError | None]:
    """Commits content from staged chunks while collect_garbage runs in a loop from gc_delay on.

    Returns (artifact id or "", the commit's error or None)."""
    outcome: dict[str, object] = {}
    done = threading.Event()

    def commit() -> None:
        try:
            outcome["id"] = m.commit_artifact(UploadHeader(sid, name), chunk_plan(content), digest(content)).artifact_id
        except LlmspellError as exc:
            outcome["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=commit)
    worker.start()
    time.sleep(gc_delay)
    while not done.is_set():
        m.collect_garbage()
    worker.join()
    m.collect_garbage()  # whatever the commit did not take a reference to is gone now
    error = outcome.get("error")
    return str(outcome.get("id", "")), error if isinstance(error, LlmspellError) else None


def test_acknowledged_commit_stays_readable_when_gc_runs_during_the_commit(engine_factory: EngineFactory) -> None:
    m = engine_factory()
    sid = m.create_session()
    rng = random.Random(20240601)
    # How long one commit takes here, so the GC passes land anywhere from before it to after it.
    probe = os.urandom(2 * MiB)
    m.upload_chunks(chunk_pieces(probe))
    started = time.perf_counter()
    m.commit_artifact(UploadHeader(sid, "probe"), chunk_plan(probe), digest(probe))
    span = time.perf_counter() - started
    acknowledged, unreadable = 0, []
    for round_ in range(RACE_ROUNDS):
        content = os.urandom(2 * MiB)
        held = m.store_artifact(sid, f"a-{round_}", content)
        m.upload_chunks(chunk_pieces(content))  # staged by the tenant: the commit's chunks are known
        m.delete_artifact(held)  # the last reference goes: with grace 0 the chunks are due at once
        artifact_id, error = _commit_racing_gc(m, sid, f"b-{round_}", content, rng.uniform(0, 1.5 * span))
        if error is not None:
            # Refusing is fine (the chunks were gone before the commit could hold them).
            assert isinstance(error, MissingChunks | DataLoss) or error.reason == "INTEGRITY_ERROR", error
            continue
        acknowledged += 1
        try:
            _, data = m.get_artifact(sid, artifact_id)
        except DataLoss as exc:
            unreadable.append(f"round {round_}: {exc}")
            continue
        assert data == content
    assert not unreadable, f"{len(unreadable)} acknowledged artifacts are unreadable: {unreadable[:3]}"
    assert acknowledged > 0  # the race was exercised: some commits won it


def test_maintenance_pass_still_runs_after_client_side_chunk_upload(engine: SessionManager) -> None:
    m = engine
    sid = m.create_session()
    staged = os.urandom(40 * KiB)
    m.upload_chunks([(digest(staged), staged)])
    garbage = m.store_artifact(sid, "garbage", os.urandom(100 * KiB))
    m.delete_artifact(garbage)
    # One maintenance pass, in the order the background sweeper runs it.
    m.expire_uploads()
    collected = m.collect_garbage()
    m.compact_segments()
    assert collected >= 1  # the deleted artifact's chunks
    # The staged chunk was not touched: it can still be committed.
    artifact = m.commit_artifact(UploadHeader(sid, "staged"), [(digest(staged), len(staged))], digest(staged))
    assert m.get_artifact(sid, artifact.artifact_id)[1] == staged


def test_fork_at_a_point_whose_content_was_collected_fails_and_creates_nothing(engine: SessionManager) -> None:
    m = engine
    sid = m.create_session(name="origin")
    doomed = m.store_artifact(sid, "doomed", os.urandom(200 * KiB))
    at_seq = m.get_session(sid).last_event_seq
    m.delete_artifact(doomed)
    assert m.collect_garbage() >= 1
    sessions_before = m.list_sessions(page_size=1000).total_size
    with pytest.raises(LlmspellError) as caught:
        m.fork_session(sid, at_seq=at_seq, name="fork")
    assert (caught.value.code, caught.value.reason) in {
        ("FAILED_PRECONDITION", "MISSING_CHUNKS"),
        ("DATA_LOSS", "INTEGRITY_ERROR"),
    }, caught.value
    assert m.list_sessions(page_size=1000).total_size == sessions_before


def test_rewind_over_collected_content_is_refused(engine: SessionManager) -> None:
    """The sibling of the fork rule, which holds today: rewind refuses to restore reclaimed content."""
    m = engine
    sid = m.create_session()
    doomed = m.store_artifact(sid, "doomed", os.urandom(200 * KiB))
    at_seq = m.get_session(sid).last_event_seq
    m.delete_artifact(doomed)
    assert m.collect_garbage() >= 1
    with pytest.raises(MissingChunks):  # as for a fork: FAILED_PRECONDITION, nothing written
        m.rewind_session(sid, to_seq=at_seq)


def test_rewind_swapping_artifacts_with_shared_chunks_keeps_reference_counts_exact(engine: SessionManager) -> None:
    m = engine
    sid = m.create_session()
    content = os.urandom(300 * KiB)
    digests = sorted({d for d, _ in chunk_plan(content)})
    first = m.store_artifact(sid, "report", content)
    stored_seq = m.get_session(sid).last_event_seq
    m.delete_artifact(first)
    m.store_artifact(sid, "report", content)  # same bytes, same chunks, a new artifact
    m.rewind_session(sid, to_seq=stored_seq)  # removes the second, restores the first
    assert m.get_artifact(sid, first)[1] == content
    m.delete_session(sid)
    assert sorted(m.find_missing_chunks(digests)) == digests  # the tenant holds none of them any more
    assert m.collect_garbage() == len(digests)
