"""ForkSession and RewindSession: round trips of state and artifacts, history kept, limits and etags."""

from __future__ import annotations

import pytest
from llmspell_sessions import SessionManager, SessionState
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import (
    EtagMismatch,
    InvalidArgument,
    ResourceExhausted,
    SessionNotActive,
    SessionNotFound,
)


def _history(engine: SessionManager) -> tuple[str, dict[str, str]]:
    sid = engine.create_session(name="parent", tags=["t"])
    engine.set_session_state(sid, {"step": 1, "plan": ["a"]})  # 2
    ids = {"v1": engine.store_artifact(sid, "notes.md", b"first draft")}  # 3
    engine.set_session_state(sid, {"step": 2}, ["plan"])  # 4
    ids["v2"] = engine.store_artifact(sid, "notes.md", b"second draft, longer")  # 5
    engine.delete_artifact(ids["v1"])  # 6
    ids["other"] = engine.store_artifact(sid, "other.bin", b"\x00" * 100)  # 7
    return sid, ids


def test_fork_at_a_past_seq_copies_state_and_artifacts_by_reference(engine: SessionManager) -> None:
    sid, ids = _history(engine)
    child = engine.fork_session(sid, 3, name="what-if")
    assert child.state == SessionState.ACTIVE and child.parent_session_id == sid
    assert child.name == "what-if" and child.tags == ["t"] and child.last_event_seq == 1
    assert engine.get_session_state(child.session_id) == {"step": 1, "plan": ["a"]}
    assert child.artifact_count == 1 and child.artifact_bytes == len(b"first draft")
    copied = engine.list_artifacts(child.session_id).items
    assert [(a.name, a.version) for a in copied] == [("notes.md", 1)]
    assert copied[0].artifact_id != ids["v1"] and engine.get_artifact(child.session_id, copied[0].artifact_id)[1] == (
        b"first draft"
    )
    first = engine.list_events(child.session_id).items[0]
    assert first.type == "session.created" and first.payload["forked_from"]["seq"] == 3
    snapshot = engine.get_snapshot(child.session_id, 1)  # the child's history starts complete
    assert snapshot.state == {"step": 1, "plan": ["a"]} and len(snapshot.artifacts) == 1
    assert engine.get_session(sid).last_event_seq == 7  # the parent is untouched


def test_fork_of_a_finished_session_at_a_checkpoint(engine: SessionManager) -> None:
    sid, _ = _history(engine)
    mark = engine.create_checkpoint(sid, "done")
    engine.complete_session(sid)
    engine.archive_session(sid)
    child = engine.fork_session(sid, checkpoint_id=mark.checkpoint_id)
    assert child.name == "parent" and child.artifact_count == 2
    assert engine.get_session_state(child.session_id) == {"step": 2}
    child_names = sorted(a.name for a in engine.list_artifacts(child.session_id).items)
    assert child_names == ["notes.md", "other.bin"]
    engine.delete_session(sid)  # the child's content outlives its parent
    artifact = engine.list_artifacts(child.session_id, name_pattern="notes.md").items[0]
    assert engine.get_artifact(child.session_id, artifact.artifact_id)[1] == b"second draft, longer"


def test_fork_counts_against_max_sessions(tmp_path) -> None:
    with SessionManager(storage_backend="memory", max_sessions=1, start_sweeper=False) as engine:
        sid = engine.create_session()
        with pytest.raises(ResourceExhausted):
            engine.fork_session(sid)
        engine.suspend_session(sid)
        assert engine.fork_session(sid).state == SessionState.ACTIVE


def test_rewind_restores_state_and_artifacts_and_keeps_history(engine: SessionManager) -> None:
    sid, ids = _history(engine)
    before = engine.get_session(sid)
    after = engine.rewind_session(sid, 3, etag=before.etag)
    assert after.last_event_seq == 8 and after.artifact_count == 1
    assert engine.get_session_state(sid) == {"step": 1, "plan": ["a"]}
    assert [a.artifact_id for a in engine.list_artifacts(sid, all_versions=True).items] == [ids["v1"]]
    assert engine.get_artifact(sid, ids["v1"])[1] == b"first draft"
    rewound = engine.list_events(sid, after_seq=7).items[0]
    assert rewound.type == "session.rewound" and rewound.payload["to_seq"] == 3
    assert rewound.payload["state"] == {"set": {"step": 1, "plan": ["a"]}, "deleted": []}
    assert {a["artifact_id"] for a in rewound.payload["artifacts_removed"]} == {ids["v2"], ids["other"]}
    assert [a["artifact_id"] for a in rewound.payload["artifacts_restored"]] == [ids["v1"]]
    assert engine.get_snapshot(sid, 7).state == {"step": 2}  # earlier history stays readable
    assert len(engine.get_snapshot(sid, 7).artifacts) == 2
    # and back again: the rewind itself is history
    engine.rewind_session(sid, 7)
    assert engine.get_session_state(sid) == {"step": 2}
    live = {a.artifact_id for a in engine.list_artifacts(sid, all_versions=True).items}
    assert live == {ids["v2"], ids["other"]}
    assert engine.get_session(sid).artifact_bytes == engine.get_snapshot(sid, 7).session.artifact_bytes


def test_rewind_rules(engine: SessionManager) -> None:
    sid, _ = _history(engine)
    with pytest.raises(EtagMismatch):
        engine.rewind_session(sid, 2, etag="s1")
    with pytest.raises(InvalidArgument):
        engine.rewind_session(sid, 0)
    with pytest.raises(InvalidArgument):
        engine.rewind_session(sid, 99)
    engine.suspend_session(sid)
    with pytest.raises(SessionNotActive):
        engine.rewind_session(sid, 2)
    assert engine.get_session(sid).last_event_seq == 8


def test_grpc_fork_and_rewind_round_trip(rclient: SessionClient) -> None:
    sid = rclient.create_session(name="remote parent")
    rclient.set_session_state(sid, {"x": 1})
    first = rclient.store_artifact(sid, "a.txt", b"aaa")
    rclient.set_session_state(sid, {"x": 2, "y": True})
    child = rclient.fork_session(sid, at_seq=3, name="remote child")
    assert child.parent_session_id == sid and rclient.get_session_state(child.session_id) == {"x": 1}
    assert rclient.load_session(child.session_id).artifacts[0].name == "a.txt"
    session = rclient.rewind_session(sid, to_seq=2, etag=rclient.get_session(sid).etag)
    assert session.artifact_count == 0 and rclient.get_session_state(sid) == {"x": 1}
    rclient.rewind_session(sid, to_seq=3)
    assert [a.artifact_id for a in rclient.load_session(sid).artifacts] == [first]
    with pytest.raises(EtagMismatch):
        rclient.rewind_session(sid, to_seq=2, etag="s1")
    with pytest.raises(InvalidArgument):
        rclient.fork_session(sid, at_seq=0)
    with pytest.raises(InvalidArgument):
        rclient.fork_session(sid, checkpoint_id="bad")
    with pytest.raises(SessionNotFound):
        rclient.fork_session("01900000-0000-7000-8000-000000000000")
