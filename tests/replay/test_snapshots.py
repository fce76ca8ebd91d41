"""Time travel: snapshots equal what was recorded at the time (property test against a model),
checkpoints, CompareSnapshots, and snapshot speed deep into a long log."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llmspell_sessions import SessionManager, SessionState
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import (
    CheckpointNotFound,
    InvalidArgument,
    LlmspellError,
    SessionNotActive,
    SessionNotFound,
)
from llmspell_sessions.model import Session

KEYS = ["a", "b", "c", "d"]
VALUES = st.one_of(
    st.integers(-3, 3), st.booleans(), st.none(), st.text(max_size=3), st.lists(st.integers(0, 2), max_size=2)
)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("set"), st.dictionaries(st.sampled_from(KEYS), VALUES, min_size=1, max_size=3)),
        st.tuples(st.just("delete"), st.sampled_from(KEYS)),
        st.tuples(st.just("rename"), st.text("xyz", min_size=1, max_size=4)),
        st.tuples(st.just("lifecycle"), st.sampled_from(["suspend", "resume"])),
        st.tuples(st.just("append"), st.integers(1, 4)),
        st.tuples(st.just("checkpoint"), st.just("")),
        st.tuples(st.just("store"), st.sampled_from(["f1", "f2"])),
        st.tuples(st.just("unstore"), st.integers(0, 5)),
        st.tuples(st.just("rewind"), st.floats(0, 1)),
        st.tuples(st.just("save"), st.just("")),
    ),
    min_size=1,
    max_size=14,
)


@dataclass
class Model:
    """What the test believes the session is: state and live artifacts, and each past moment."""

    state: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, int] = field(default_factory=dict)
    history: dict[int, tuple[Session, dict[str, Any], set[str]]] = field(default_factory=dict)

    def record(self, session: Session) -> None:
        self.history[session.last_event_seq] = (session, dict(self.state), set(self.artifacts))


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _apply(engine: SessionManager, sid: str, model: Model, kind: str, arg: Any) -> None:
    if kind == "set":
        engine.set_session_state(sid, arg)
        model.state.update(arg)
    elif kind == "delete" and arg in model.state:
        engine.set_session_state(sid, delete_keys=[arg])
        del model.state[arg]
    elif kind == "rename":
        engine.update_session(sid, name=arg, tags=[arg])
    elif kind == "lifecycle":
        getattr(engine, f"{arg}_session")(sid)
    elif kind == "append":
        engine.append_events(sid, [{"type": "model.step", "payload": {"i": i}} for i in range(arg)])
    elif kind == "checkpoint":
        engine.create_checkpoint(sid, "model")
    elif kind == "store":
        content = f"{arg}-{len(model.history)}".encode()
        model.artifacts[engine.store_artifact(sid, arg, content)] = len(content)
    elif kind == "unstore" and model.artifacts:
        artifact_id = sorted(model.artifacts)[arg % len(model.artifacts)]
        engine.delete_artifact(artifact_id)
        del model.artifacts[artifact_id]
    elif kind == "rewind":
        seq = max(1, round(arg * max(model.history)))
        engine.rewind_session(sid, seq)
        _, state, artifacts = model.history[max(s for s in model.history if s <= seq)]
        model.state = dict(state)
        model.artifacts = {a: model.artifacts.get(a, 0) for a in artifacts}
    elif kind == "save":
        engine.save_session(sid, durable=False)


def _check_snapshot(engine: SessionManager, sid: str, seq: int, expected: tuple[Session, dict, set[str]]) -> None:
    session, state, artifacts = expected
    snapshot = engine.get_snapshot(sid, seq)
    assert snapshot.seq == seq
    assert snapshot.session == session, seq
    assert _canonical(snapshot.state) == _canonical(state), seq
    assert {a.artifact_id for a in snapshot.artifacts} == artifacts, seq


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_snapshots_equal_what_was_recorded(engine: SessionManager, operations: list[tuple[str, Any]]) -> None:
    sid = engine.create_session(name="model")
    model = Model()
    model.record(engine.get_session(sid))
    for kind, arg in operations:
        try:
            _apply(engine, sid, model, kind, arg)
        except (SessionNotActive, LlmspellError) as exc:  # not allowed in this state: nothing changed
            assert exc.code in ("FAILED_PRECONDITION",), exc
        model.record(engine.get_session(sid))
        assert _canonical(engine.get_session_state(sid)) == _canonical(model.state)
    for seq, expected in model.history.items():
        _check_snapshot(engine, sid, seq, expected)


def test_checkpoints_are_listed_paged_and_usable(engine: SessionManager) -> None:
    sid = engine.create_session()
    engine.set_session_state(sid, {"x": 1})
    mine = engine.create_checkpoint(sid, "before change")
    assert mine.seq == 3 and mine.label == "before change"
    engine.set_session_state(sid, {"x": 2})
    engine.append_events(sid, [{"type": "e"}] * 6)  # passes seq 5 and 10: automatic checkpoints
    listed, token = [], ""
    while True:
        page = engine.list_checkpoints(sid, page_size=1, page_token=token)
        listed += page.items
        token = page.next_page_token
        if not token:
            break
    assert [(c.seq, c.label) for c in listed] == [(3, "before change"), (5, "auto"), (10, "auto")]
    assert engine.get_snapshot(sid, checkpoint_id=mine.checkpoint_id).state == {"x": 1}
    assert engine.get_snapshot(sid, checkpoint_id=mine.checkpoint_id).session.last_event_seq == 3
    assert [e.type for e in engine.list_events(sid, types=["checkpoint."]).items] == ["checkpoint.created"]


def test_compare_snapshots(engine: SessionManager) -> None:
    sid = engine.create_session()
    engine.set_session_state(sid, {"keep": 1, "change": "old", "drop": True})
    first = engine.store_artifact(sid, "a.txt", b"one")
    mark = engine.create_checkpoint(sid)
    engine.set_session_state(sid, {"change": "new", "add": [1]}, ["drop"])
    engine.delete_artifact(first)
    second = engine.store_artifact(sid, "b.txt", b"two")
    diff = engine.compare_snapshots(sid, mark.checkpoint_id, None)
    assert diff.state_added == {"add": [1]}
    assert diff.state_removed == {"drop": True}
    assert diff.state_changed == {"change": ("old", "new")}
    assert [a.artifact_id for a in diff.artifacts_added] == [second]
    assert [a.artifact_id for a in diff.artifacts_removed] == [first]
    assert diff.events_between == 3
    back = engine.compare_snapshots(sid, 6, mark.checkpoint_id)
    assert back.state_added == {"drop": True} and back.state_changed == {"change": ("new", "old")}


def test_true_is_not_one(engine: SessionManager) -> None:
    sid = engine.create_session()
    engine.set_session_state(sid, {"flag": 1})
    engine.set_session_state(sid, {"flag": True})
    assert engine.compare_snapshots(sid, 2, 3).state_changed == {"flag": (1, True)}
    engine.rewind_session(sid, 2)
    assert engine.get_session_state(sid)["flag"] is not True


def test_bad_points_are_rejected(engine: SessionManager) -> None:
    sid = engine.create_session()
    for call in (
        lambda: engine.get_snapshot(sid, 0),
        lambda: engine.get_snapshot(sid, 2),
        lambda: engine.get_snapshot(sid, -1),
        lambda: engine.get_snapshot(sid, 1, "not-a-checkpoint"),
        lambda: engine.get_snapshot(sid, checkpoint_id="nope"),
        lambda: engine.list_checkpoints(sid, page_token="junk"),
    ):
        with pytest.raises(InvalidArgument):
            call()
    with pytest.raises(CheckpointNotFound):
        engine.get_snapshot(sid, checkpoint_id="01900000-0000-7000-8000-000000000000")
    with pytest.raises(SessionNotFound):
        engine.get_snapshot("01900000-0000-7000-8000-000000000000", 1)


def test_snapshot_over_grpc(rclient: SessionClient) -> None:
    sid = rclient.create_session(name="remote")
    rclient.set_session_state(sid, {"n": 1, "nested": {"k": [1, None, "x"]}})
    artifact = rclient.store_artifact(sid, "out.txt", b"hello")
    rclient.set_session_state(sid, {"n": 2})
    snapshot = rclient.get_snapshot(sid, 3)
    assert snapshot.seq == 3 and snapshot.session.last_event_seq == 3
    assert snapshot.state == {"n": 1, "nested": {"k": [1, None, "x"]}}
    assert [a.artifact_id for a in snapshot.artifacts] == [artifact]
    assert snapshot.session.state == SessionState.ACTIVE and snapshot.session.artifact_count == 1
    checkpoint = rclient.create_checkpoint(sid, "remote")
    assert rclient.list_checkpoints(sid).items[-1].checkpoint_id == checkpoint.checkpoint_id
    diff = rclient.compare_snapshots(sid, 2, checkpoint.checkpoint_id)
    assert diff.state_changed == {"n": (1, 2)} and diff.events_between == 3
    with pytest.raises(InvalidArgument):
        rclient.get_snapshot(sid, 99)
    with pytest.raises(CheckpointNotFound):
        rclient.get_snapshot(sid, checkpoint_id="01900000-0000-7000-8000-000000000000")


def test_snapshot_deep_in_a_long_log_is_fast(tmp_path) -> None:
    with SessionManager(
        storage_backend="rocksdb",
        storage_path=str(tmp_path / "db"),
        auto_checkpoint_every=1000,
        rate_limit_per_session=0,
        rate_limit_global=0,
        start_sweeper=False,
    ) as engine:
        sid = engine.create_session()
        for block in range(100):
            engine.set_session_state(sid, {f"k{block % 10}": block})
            engine.append_events(sid, [{"type": "bulk", "payload": {"b": block}}] * 999)
        assert engine.get_session(sid).last_event_seq == 100_001
        engine.get_snapshot(sid, 100_000)
        started = time.perf_counter()
        snapshot = engine.get_snapshot(sid, 100_000)
        elapsed = time.perf_counter() - started
        assert snapshot.state["k9"] == 99
        assert elapsed < 0.25, f"GetSnapshot at seq 100,000 took {elapsed * 1000:.1f} ms"
