"""List commands page: --page-size, --page-token, --all, and "more: --page-token X" on stderr."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable

from llmspell_sessions.client import SessionClient

from tests.cli.conftest import Run

MORE = re.compile(r"^more: --page-token (\S+)$")


def rows(run: Run) -> list[str]:
    """The first column of a table's rows (the header left out)."""
    assert run.code == 0, run.err
    return [line.split()[0] for line in run.out.splitlines()[1:]]


def next_token(run: Run) -> str:
    found = [MORE.match(line) for line in run.err_lines]
    tokens = [m.group(1) for m in found if m]
    return tokens[0] if tokens else ""


def assert_pages(cli: Callable[..., Run], argv: list[str], expected: list[str]) -> None:
    """Two rows a page: the pages chain through their tokens to exactly the expected ids; --all
    prints them all with no token."""
    seen, token = [], ""
    while True:
        run = cli(*argv, "--page-size", "2", *(["--page-token", token] if token else []))
        page = rows(run)
        assert len(page) <= 2
        seen += page
        token = next_token(run)
        if not token:
            break
    assert sorted(seen) == sorted(expected)
    every = cli(*argv, "--page-size", "2", "--all")
    assert sorted(rows(every)) == sorted(expected) and next_token(every) == ""


def test_session_list_pages(cli: Callable[..., Run], client: SessionClient) -> None:
    tag = f"paging-{uuid.uuid4().hex[:8]}"
    ids = [client.create_session(name=f"s{i}", tags=[tag]) for i in range(5)]
    assert_pages(cli, ["session", "list", "--tag", tag], ids)
    listed = json.loads(cli("session", "list", "--tag", tag, "--json", "--page-size", "3").out)
    assert len(listed) == 3


def test_artifact_list_pages(cli: Callable[..., Run], sid: str, client: SessionClient) -> None:
    ids = [client.store_artifact(sid, f"a{i}.txt", b"x" * i) for i in range(5)]
    assert_pages(cli, ["artifact", "list", sid], ids)


def test_event_and_checkpoint_lists_page(cli: Callable[..., Run], sid: str, client: SessionClient) -> None:
    client.append_events(sid, [{"type": "tool.call"}] * 4)
    assert_pages(cli, ["events", "list", sid], ["1", "2", "3", "4", "5"])
    ids = [client.create_checkpoint(sid, f"c{i}").checkpoint_id for i in range(3)]
    assert_pages(cli, ["checkpoint", "list", sid], ids)


def test_an_empty_artifact_list_prints_no_table(cli: Callable[..., Run], sid: str) -> None:
    run = cli("artifact", "list", sid)
    assert run.code == 0 and run.out == "" and run.err_lines == ["no artifacts"]
    assert json.loads(cli("artifact", "list", sid, "--json").out) == []
