"""`state set` refuses values that are not JSON (unless --string) and prints what it changed."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable

from llmspell_sessions.client import SessionClient

from tests.cli.conftest import Run


def test_a_value_that_is_not_json_is_refused(cli: Callable[..., Run], sid: str, client: SessionClient) -> None:
    run = cli("state", "set", sid, "turn=2", "answer=forty two")
    assert run.code == 2 and len(run.err_lines) == 1
    assert "answer is not JSON" in run.err and "--string" in run.err
    assert client.get_session_state(sid) == {}  # nothing written, not even the valid entry


def test_string_stores_raw_text(cli: Callable[..., Run], sid: str, client: SessionClient) -> None:
    assert cli("state", "set", sid, "--string", "answer=forty two", "n=2").code == 0
    assert client.get_session_state(sid) == {"answer": "forty two", "n": "2"}


def test_set_prints_what_it_changed(cli: Callable[..., Run], sid: str, client: SessionClient) -> None:
    client.set_session_state(sid, {"old": 1})
    run = cli("state", "set", sid, 'plan={"steps": ["a"]}', "turn=2", "none=null", "--delete", "old")
    assert run.code == 0, run.err
    assert run.out.splitlines() == ['plan  {"steps":["a"]}', "turn  2", "none  null", "old  (deleted)"]
    assert client.get_session_state(sid) == {"plan": {"steps": ["a"]}, "turn": 2, "none": None}
    as_json = json.loads(cli("state", "set", sid, "turn=3", "--json").out)
    assert as_json == {"set": {"turn": 3}, "deleted": [], "etag": client.get_session(sid).etag}


def test_set_with_nothing_to_do_is_a_usage_error(cli: Callable[..., Run], sid: str) -> None:
    run = cli("state", "set", sid)
    assert run.code == 2 and "nothing to do" in run.err


def test_get_shows_values_as_json(cli: Callable[..., Run], sid: str, client: SessionClient) -> None:
    client.set_session_state(sid, {"name": "x", "nothing": None, "n": 1.5})
    assert sorted(cli("state", "get", sid).out.splitlines()) == ["n        1.5", 'name     "x"', "nothing  null"]


def test_entries_may_come_before_and_after_options(cli: Callable[..., Run], sid: str, client: SessionClient) -> None:
    assert cli("state", "set", sid, "a=x", "--string", "b=y").code == 0
    assert client.get_session_state(sid) == {"a": "x", "b": "y"}
    run = cli("state", "set", sid, "c=1", "--bogus")
    assert run.code == 2 and run.err_lines == [
        "error: state set: unknown option --bogus (see llmspell-sessions state set --help)"
    ]


def test_the_refusal_suggests_an_entry_that_works(cli: Callable[..., Run], sid: str, client: SessionClient) -> None:
    """The quoted entry the refusal suggests, pasted into a shell, stores the text as a JSON string
    (text with quotes, backslashes or apostrophes included)."""
    for text in ["forty two", '{"a":', "it's", "a\\b"]:
        run = cli("state", "set", sid, f"v={text}")
        assert run.code == 2 and len(run.err_lines) == 1, run
        suggested = re.search(r"a string as (.*) or pass --string", run.err)
        assert suggested, run.err
        (entry,) = shlex.split(suggested[1])
        assert cli("state", "set", sid, entry).code == 0
        assert client.get_session_state(sid) == {"v": text}
