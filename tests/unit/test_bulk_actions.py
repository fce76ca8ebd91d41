"""Bulk session actions: each selected session goes through its single call's operation (access,
state machine, hooks, events), refusals are skipped with the reason, a dry run writes nothing, and
a page token continues where a capped call stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llmspell_sessions import SessionManager, SessionState
from llmspell_sessions.errors import InvalidArgument, SessionNotFound
from llmspell_sessions.model import Caller, Role

EVERY_STATE = [s for s in SessionState if s.value]
WRITER = Caller(tenant="t", subject="w", role=Role.WRITER)
ADMIN = Caller(tenant="t", subject="boss", role=Role.ADMIN)


class Recorder:
    """A hook that vetoes completing sessions named "keep" and records what it saw."""

    def __init__(self) -> None:
        self.keep: set[str] = set()
        self.before: list[tuple[str, str, bool]] = []
        self.after: list[tuple[str, str]] = []

    def before_complete_session(self, op: Any) -> str | None:
        self.before.append((op.operation, op.session_id, op.dry_run))
        return "kept by policy" if op.session_id in self.keep else None

    def after_complete_session(self, op: Any, event: Any) -> None:
        self.after.append((op.session_id, event.type))


@pytest.fixture
def hook() -> Recorder:
    return Recorder()


@pytest.fixture
def engine(tmp_path: Path, hook: Recorder) -> Iterator[SessionManager]:
    with SessionManager(storage_backend="memory", storage_path=str(tmp_path), start_sweeper=False, hooks=[hook]) as m:
        yield m


def _make(m: SessionManager, n: int, caller: Caller = WRITER, tag: str = "batch") -> list[str]:
    return [m.create_session(name=f"s{i}", tags=[tag], caller=caller) for i in range(n)]


def _snapshot(m: SessionManager, ids: list[str]) -> list[tuple[Any, ...]]:
    return [(s.state, s.etag, s.last_event_seq) for s in (m.get_session(i, caller=ADMIN) for i in ids)]


def test_a_dry_run_reports_and_changes_nothing(engine: SessionManager, hook: Recorder) -> None:
    ids = _make(engine, 3)
    engine.complete_session(ids[0], caller=WRITER)
    before, hook.before, hook.after = _snapshot(engine, ids), [], []
    result = engine.bulk_session_action("complete", tags=["batch"], dry_run=True, caller=WRITER)
    assert result.changed == ids[1:]  # oldest first; the completed one would be refused
    assert [(s.session_id, s.reason) for s in result.skipped] == [(ids[0], "INVALID_STATE_TRANSITION")]
    assert result.matched == 3 and result.total_size == 3 and result.next_page_token == ""
    assert _snapshot(engine, ids) == before
    # The completed one failed the state machine first; the others' hooks were asked, told it is dry.
    assert hook.before == [("complete_session", ids[1], True), ("complete_session", ids[2], True)]
    assert hook.after == []  # nothing committed, so no after-hook
    deleted = engine.bulk_session_action("delete", tags=["batch"], dry_run=True, caller=WRITER)
    assert deleted.changed == ids and _snapshot(engine, ids) == before


def test_the_cap_and_the_page_token_visit_every_session_once(engine: SessionManager) -> None:
    ids = _make(engine, 5)
    seen: list[str] = []
    token, calls = "", 0
    while True:
        page = engine.bulk_session_action("complete", tags=["batch"], page_size=2, page_token=token, caller=WRITER)
        assert len(page.changed) <= 2 and page.total_size == 5
        seen += page.changed
        token, calls = page.next_page_token, calls + 1
        if not token:
            break
    assert seen == ids and calls == 3
    assert {s.state for s in engine.list_sessions(tags=["batch"], caller=WRITER).items} == {SessionState.COMPLETED}


def test_a_page_token_belongs_to_its_run(engine: SessionManager) -> None:
    _make(engine, 3)
    first = engine.bulk_session_action("complete", tags=["batch"], page_size=1, dry_run=True, caller=WRITER)
    for other in (
        {"action": "delete", "tags": ["batch"], "dry_run": True},
        {"action": "complete", "tags": ["other"], "dry_run": True},
        {"action": "complete", "tags": ["batch"]},  # a dry run's token does not drive a real run
    ):
        with pytest.raises(InvalidArgument):
            engine.bulk_session_action(**other, page_token=first.next_page_token, caller=WRITER)


def test_sessions_of_other_tenants_and_owners_are_not_selected(engine: SessionManager) -> None:
    mine = _make(engine, 2)
    theirs = _make(engine, 2, Caller(tenant="other", subject="w", role=Role.ADMIN))
    colleague = _make(engine, 1, Caller(tenant="t", subject="carol", role=Role.WRITER))
    result = engine.bulk_session_action("delete", caller=WRITER)  # no filter: everything w may see
    assert result.changed == mine and result.total_size == 2
    other = Caller(tenant="other", subject="x", role=Role.ADMIN)
    assert [s.session_id for s in engine.list_sessions(caller=other).items] == theirs[::-1]
    assert engine.get_session(colleague[0], caller=ADMIN).state == SessionState.ACTIVE


def test_a_reader_is_refused_session_by_session(engine: SessionManager) -> None:
    ids = _make(engine, 2)
    for sid in ids:
        engine.grant_session_access(sid, "r", "read", caller=ADMIN)
    engine.grant_session_access(ids[0], "v", "read", caller=ADMIN)  # a writer with only a read grant
    before = _snapshot(engine, ids)
    reader = Caller(tenant="t", subject="r", role=Role.READER)
    result = engine.bulk_session_action("delete", tags=["batch"], caller=reader)
    assert result.changed == [] and [(s.session_id, s.reason) for s in result.skipped] == [
        (ids[0], "ACCESS_DENIED"),
        (ids[1], "ACCESS_DENIED"),
    ]
    viewer = Caller(tenant="t", subject="v", role=Role.WRITER)
    result = engine.bulk_session_action("complete", tags=["batch"], caller=viewer)
    assert [(s.session_id, s.reason) for s in result.skipped] == [(ids[0], "ACCESS_DENIED")] and not result.changed
    assert _snapshot(engine, ids) == before


def test_a_hook_veto_skips_that_session_with_the_reason(engine: SessionManager, hook: Recorder) -> None:
    ids = _make(engine, 3)
    hook.keep = {ids[1]}
    for dry_run in (True, False):
        result = engine.bulk_session_action("complete", tags=["batch"], dry_run=dry_run, caller=WRITER)
        assert result.changed == [ids[0], ids[2]]
        assert [(s.session_id, s.reason, s.message) for s in result.skipped] == [
            (ids[1], "VETOED_BY_HOOK", "kept by policy")
        ]
    states = [engine.get_session(i, caller=WRITER).state for i in ids]
    assert states == [SessionState.COMPLETED, SessionState.ACTIVE, SessionState.COMPLETED]
    assert hook.after == [(ids[0], "session.completed"), (ids[2], "session.completed")]


def test_each_change_appends_the_single_calls_event(engine: SessionManager) -> None:
    ids = _make(engine, 2)
    engine.bulk_session_action("fail", tags=["batch"], reason="cleanup", caller=WRITER)
    for sid in ids:
        session = engine.get_session(sid, caller=WRITER)
        assert (session.state, session.failure_reason) == (SessionState.FAILED, "cleanup")
        last = engine.list_events(sid, caller=WRITER).items[-1]
        assert (last.type, last.actor, last.payload["reason"]) == ("session.failed", "w", "cleanup")
    with pytest.raises(InvalidArgument):
        engine.bulk_session_action("complete", tags=["batch"], reason="no", caller=WRITER)
    with pytest.raises(InvalidArgument):
        engine.bulk_session_action("suspend", tags=["batch"], caller=WRITER)


def test_a_rerun_changes_nothing_more(engine: SessionManager) -> None:
    ids = _make(engine, 3)
    assert engine.bulk_session_action("complete", states=[SessionState.ACTIVE], caller=WRITER).changed == ids
    again = engine.bulk_session_action("complete", states=[SessionState.ACTIVE], caller=WRITER)
    assert (again.matched, again.total_size) == (0, 0)
    archived = engine.bulk_session_action("archive", states=[SessionState.COMPLETED], caller=WRITER)
    assert archived.changed == ids
    assert engine.bulk_session_action("delete", caller=WRITER).matched == 0  # ARCHIVED only when asked for
    assert engine.bulk_session_action("delete", states=EVERY_STATE, caller=WRITER).changed == ids
    assert engine.bulk_session_action("delete", states=EVERY_STATE, caller=WRITER).matched == 0
    with pytest.raises(SessionNotFound):
        engine.get_session(ids[0], caller=WRITER)


def test_a_rate_limit_ends_the_page_and_the_token_resumes_there(tmp_path: Path) -> None:
    path = str(tmp_path / "db")
    # 6 requests a minute, a burst of 9: six creates and the bulk call's own leave two sessions' worth.
    with SessionManager(storage_path=path, start_sweeper=False, rate_limit_global=6) as limited:
        ids = _make(limited, 6)
        result = limited.bulk_session_action("complete", caller=WRITER)
        assert result.changed == ids[:2]
        assert [(s.session_id, s.reason) for s in result.skipped] == [(ids[2], "RATE_LIMITED")]
        assert result.next_page_token
    with SessionManager(storage_path=path, start_sweeper=False) as unlimited:
        rest = unlimited.bulk_session_action("complete", page_token=result.next_page_token, caller=WRITER)
        assert rest.changed == ids[2:] and rest.next_page_token == ""
