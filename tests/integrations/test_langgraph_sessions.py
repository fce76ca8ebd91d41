"""How the saver maps threads onto sessions: lifecycle, limits, copies, history."""

from __future__ import annotations

import uuid

import pytest

pytest.importorskip("langgraph")

from langgraph.checkpoint.conformance.test_utils import generate_checkpoint, generate_config  # noqa: E402
from llmspell_sessions import SessionManager, SessionState  # noqa: E402
from llmspell_sessions.integrations import SessionBackend  # noqa: E402
from llmspell_sessions.integrations.langgraph import LlmspellSaver  # noqa: E402


def put(saver: LlmspellSaver, thread_id: str, value: object, parent: dict | None = None) -> dict:
    config = generate_config(thread_id)
    if parent:
        config["configurable"]["checkpoint_id"] = parent["configurable"]["checkpoint_id"]
    checkpoint = generate_checkpoint(channel_values={"v": value}, channel_versions={"v": str(uuid.uuid4())})
    return saver.put(config, checkpoint, {"source": "loop", "step": 0}, dict(checkpoint["channel_versions"]))


def values(saver: LlmspellSaver, thread_id: str) -> list[object]:
    return [t.checkpoint["channel_values"]["v"] for t in saver.list(generate_config(thread_id))]


def test_each_put_is_one_state_change_in_the_thread_session(backend: SessionBackend) -> None:
    saver, tid = LlmspellSaver(backend), f"t-{uuid.uuid4()}"
    first = put(saver, tid, 1)
    put(saver, tid, 2, first)
    sid = saver.directory.find(tid)
    assert sid is not None
    events = backend.list_events(sid, types=["state.changed"]).items
    assert len(events) == 2


def test_copy_into_an_existing_thread_merges(backend: SessionBackend) -> None:
    saver, src, dst = LlmspellSaver(backend), f"s-{uuid.uuid4()}", f"d-{uuid.uuid4()}"
    put(saver, src, "big" * 10_000)  # an artifact-backed value travels too
    put(saver, dst, "own")
    saver.copy_thread(src, dst)
    assert sorted(map(str, values(saver, dst))) == sorted(["big" * 10_000, "own"])
    assert values(saver, src) == ["big" * 10_000]


def test_a_suspended_or_completed_thread_session_is_revived_on_write(backend: SessionBackend) -> None:
    saver, tid = LlmspellSaver(backend), f"r-{uuid.uuid4()}"
    first = put(saver, tid, 1)
    sid = saver.directory.find(tid)
    assert sid is not None
    backend.suspend_session(sid)
    second = put(saver, tid, 2, first)
    assert backend.get_session(sid).state == SessionState.ACTIVE
    backend.complete_session(sid)
    put(saver, tid, 3, second)
    fork = saver.directory.find(tid)
    assert fork != sid and backend.get_session(sid).state == SessionState.ARCHIVED
    assert values(LlmspellSaver(backend), tid) == [3, 2, 1]


def test_threads_beyond_max_sessions_suspend_the_least_recent(embedded: SessionManager, tmp_path) -> None:
    with SessionManager(storage_backend="memory", storage_path=str(tmp_path / "m"), max_sessions=2) as manager:
        saver = LlmspellSaver(manager)
        tids = [f"m-{i}" for i in range(5)]
        for tid in tids:
            put(saver, tid, tid)
        assert all(values(saver, tid) == [tid] for tid in tids)
        put(saver, tids[0], "again")  # resumes the first thread, suspending another
        active = manager.list_sessions(states=[SessionState.ACTIVE]).items
        assert len(active) == 2
    capped = LlmspellSaver(embedded, max_active_threads=1)
    put(capped, "a", 1)
    put(capped, "b", 2)
    assert len(embedded.list_sessions(states=[SessionState.ACTIVE]).items) == 1
