"""Hooks: vetoes leave nothing behind, after-hooks see committed events, failures never lose writes."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.client import SessionClient
from llmspell_sessions.engine import hooks as hooks_module
from llmspell_sessions.engine.hooks import HookContext, HookRunner, load_hooks
from llmspell_sessions.errors import InvalidArgument, RateLimited, VetoedByHook
from llmspell_sessions.model import Caller, Event


class Recorder:
    """Records what it sees; refuses state changes of the key "forbidden"."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int | None]] = []

    def before_set_session_state(self, op: HookContext) -> str | None:
        return "forbidden key" if "forbidden" in op.payload.get("set", {}) else None

    def after(self, op: HookContext, event: Event | None) -> None:
        self.seen.append((op.operation, op.event_type, event.seq if event else None))


def test_runner_per_operation_hooks_and_vetoes() -> None:
    recorder = Recorder()
    with SessionManager(storage_backend="memory", hooks=[recorder], start_sweeper=False) as engine:
        sid = engine.create_session()
        engine.set_session_state(sid, {"fine": 1})
        with pytest.raises(VetoedByHook) as caught:
            engine.set_session_state(sid, {"forbidden": 1})
        assert caught.value.code == "FAILED_PRECONDITION" and "forbidden key" in caught.value.message
        engine.append_events(sid, [{"type": "a"}, {"type": "b"}])
        engine.fork_session(sid)
        assert engine.get_session(sid).last_event_seq == 4
        assert engine.get_session_state(sid) == {"fine": 1}
    assert recorder.seen[:4] == [
        ("create_session", "session.created", 1),
        ("set_session_state", "state.changed", 2),
        ("append_events", "a", 3),
        ("append_events", "b", 4),
    ]
    assert recorder.seen[4] == ("fork_session", "session.created", 1)


def test_runner_error_handling(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def before(self, op: HookContext) -> None:
            raise KeyError("bug")

    class Policy:
        def before(self, op: HookContext) -> None:
            raise RateLimited("slow down", retry_delay=1.0)

    class FailingObserver:
        def after(self, op: HookContext, event: Any) -> None:
            raise RuntimeError("observer bug")

    context = HookContext("append_events", Caller(), "s", "t", {})
    with pytest.raises(VetoedByHook):  # a broken guard fails closed
        HookRunner([Broken()]).before(context)
    with pytest.raises(RateLimited):  # a policy's own error goes through as is
        HookRunner([Policy()]).before(context)
    with caplog.at_level(logging.ERROR):
        HookRunner([FailingObserver()]).after(context, None)
    assert "observer bug" in caplog.text
    assert not HookRunner().active and HookRunner([FailingObserver()]).active


def test_hooks_load_from_specs_and_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    class Entry:
        def load(self) -> type:
            return Recorder

    monkeypatch.setattr(
        hooks_module, "entry_points", lambda group: [Entry()] if group == "llmspell_sessions.hooks" else []
    )
    loaded = load_hooks(["tests.replay.sample_hooks:VetoNamed"])
    assert [type(h).__name__ for h in loaded] == ["VetoNamed", "Recorder"]
    for bad in ("no_colon", "tests.replay.sample_hooks:Missing", "nowhere.at.all:Hook"):
        with pytest.raises(InvalidArgument):
            load_hooks([bad])


def test_grpc_veto_leaves_nothing_behind(rclient: SessionClient) -> None:
    before = {s.session_id for s in rclient.list_sessions(page_size=1000, search="veto").items}
    with pytest.raises(VetoedByHook) as caught:
        rclient.create_session(name="veto me")
    assert caught.value.reason == "VETOED_BY_HOOK"
    assert {s.session_id for s in rclient.list_sessions(page_size=1000, search="veto").items} == before
    sid = rclient.create_session(name="kept")
    rclient.set_session_state(sid, {"x": 1})
    for call in (
        lambda: rclient.append_events(sid, [{"type": "ok"}, {"type": "bad", "payload": {"veto": True}}]),
        lambda: rclient.update_session(sid, name="veto rename"),
        lambda: rclient.fork_session(sid, name="veto child"),
        lambda: rclient.rewind_session(sid, to_seq=1),
    ):
        with pytest.raises(VetoedByHook):
            call()
    assert rclient.get_session(sid).last_event_seq == 2
    assert [e.type for e in rclient.list_events(sid).items] == ["session.created", "state.changed"]
    assert rclient.get_session_state(sid) == {"x": 1}
    assert rclient.list_sessions(parent_session_id=sid).items == []


def test_grpc_after_hooks_see_committed_events_and_their_failure_loses_nothing(
    rclient: SessionClient, hook_log: Path
) -> None:
    sid = rclient.create_session(name="observed")
    events = rclient.append_events(sid, [{"type": "test.after_fails"}, {"type": "test.fine"}])
    assert [e.seq for e in events] == [2, 3]
    assert [e.type for e in rclient.list_events(sid).items][1:] == ["test.after_fails", "test.fine"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        records = [json.loads(line) for line in hook_log.read_text().splitlines()] if hook_log.exists() else []
        mine = [(r["operation"], r["seq"], r["type"]) for r in records if r["session_id"] == sid]
        if len(mine) == 3:
            break
        time.sleep(0.05)
    assert mine == [
        ("create_session", 1, "session.created"),
        ("append_events", 2, "test.after_fails"),
        ("append_events", 3, "test.fine"),
    ]
