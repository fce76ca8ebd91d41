"""`session bulk`: a dry run that changes nothing, the run, skips with reasons, one-line refusals."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from llmspell_sessions import SessionState
from llmspell_sessions.client import SessionClient

from tests.cli.conftest import Run


def test_dry_run_then_delete_by_tag(cli: Callable[..., Run], client: SessionClient) -> None:
    tag = f"bulk-{uuid.uuid4().hex[:8]}"
    ids = [client.create_session(name=f"run {i}", tags=[tag]) for i in range(3)]
    client.complete_session(ids[0])
    preview = cli("session", "bulk", "complete", "--tag", tag, "--dry-run")
    assert preview.code == 0, preview.err
    assert preview.out.count("would be completed") == 2 and "INVALID_STATE_TRANSITION" in preview.out
    assert "2 would be completed, 1 skipped" in preview.err
    assert [client.get_session(i).state for i in ids[1:]] == [SessionState.ACTIVE] * 2
    done = cli("session", "bulk", "delete", "--tag", tag, "--page-size", "2", "--all", "--json")
    assert done.code == 0, done.err
    report = json.loads(done.out)
    assert (report["changed"], report["skipped"], report["next_page_token"]) == (ids, [], "")
    assert client.list_sessions(tags=[tag]).items == []


def test_one_page_says_how_to_go_on(cli: Callable[..., Run], client: SessionClient) -> None:
    tag = f"bulk-{uuid.uuid4().hex[:8]}"
    ids = [client.create_session(tags=[tag]) for _ in range(3)]
    first = cli("session", "bulk", "fail", "--tag", tag, "--reason", "stale", "--page-size", "2")
    assert first.code == 0 and "more: --page-token " in first.err_lines[-1]
    token = first.err_lines[-1].split()[-1]
    rest = cli("session", "bulk", "fail", "--tag", tag, "--reason", "stale", "--page-size", "2", "--page-token", token)
    assert rest.code == 0 and "1 failed, 0 skipped" in rest.err
    assert {client.get_session(i).failure_reason for i in ids} == {"stale"}
    for sid in ids:
        client.delete_session(sid)


def test_refusals_are_one_line(cli: Callable[..., Run]) -> None:
    no_filter = cli("session", "bulk", "delete")
    assert no_filter.code == 2 and len(no_filter.err_lines) == 1 and "--every-session" in no_filter.err
    reason = cli("session", "bulk", "complete", "--tag", "x", "--reason", "why")
    assert reason.code == 2 and len(reason.err_lines) == 1
    token = cli("session", "bulk", "delete", "--tag", "x", "--page-token", "bogus")
    assert token.code != 0 and len(token.err_lines) == 1 and "page_token" in token.err
