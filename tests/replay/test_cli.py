"""The history subcommands against the real server: tables by default, JSON with --json."""

from __future__ import annotations

import argparse
import io
import json
import threading
import time
from typing import Any

import pytest
from llmspell_sessions.cli.history import add_replay_commands
from llmspell_sessions.client import SessionClient

from tests.helpers.server import ServerProcess


@pytest.fixture
def cli(replay_server: ServerProcess, capsys: pytest.CaptureFixture[str]) -> Any:
    parser = argparse.ArgumentParser()
    add_replay_commands(parser.add_subparsers())

    def run(*argv: str) -> str:
        args = parser.parse_args([*argv, "--target", replay_server.address])
        assert args.run(args) == 0
        return capsys.readouterr().out

    return run


def test_events_append_list_and_json(cli: Any, rclient: SessionClient) -> None:
    sid = rclient.create_session()
    out = cli("events", "append", sid, "tool.call", "--payload", '{"n": 1}', "--expected-last-seq", "1")
    assert "tool.call" in out and '{"n":1}' in out
    table = cli("events", "list", sid)
    assert table.splitlines()[0].split() == ["SEQ", "TYPE", "TIME", "ACTOR", "PAYLOAD"]
    assert len(table.splitlines()) == 3
    listed = json.loads(cli("events", "list", sid, "--type", "tool.", "--json"))
    assert [e["seq"] for e in listed] == [2]


def test_checkpoint_snapshot_fork_rewind(cli: Any, rclient: SessionClient) -> None:
    sid = rclient.create_session(name="cli")
    rclient.set_session_state(sid, {"k": 1})
    checkpoint = json.loads(cli("checkpoint", "create", sid, "--label", "mark", "--json"))
    assert checkpoint["seq"] == 3 and checkpoint["label"] == "mark"
    assert "mark" in cli("checkpoint", "list", sid)
    rclient.set_session_state(sid, {"k": 2})
    snapshot = json.loads(cli("snapshot", sid, "--checkpoint", checkpoint["checkpoint_id"], "--json"))
    assert snapshot["values"] == {"k": 1} and snapshot["seq"] == 3
    child = json.loads(cli("fork", sid, "--at-seq", "2", "--name", "cli child", "--json"))
    assert child["parent_session_id"] == sid and child["name"] == "cli child"
    assert "last_event_seq" in cli("rewind", sid, "--to-seq", "2")
    assert rclient.get_session_state(sid) == {"k": 1}


def test_replay_prints_a_timeline(cli: Any, rclient: SessionClient, monkeypatch: pytest.MonkeyPatch) -> None:
    sid = rclient.create_session()
    rclient.set_session_state(sid, {"a": 1})
    rclient.append_events(sid, [{"type": "tool.call"}])
    lines = cli("replay", sid).splitlines()
    assert len(lines) == 4 and "state.changed" in lines[1] and "keys: a" in lines[1]
    assert lines[-1].endswith("COMPLETED") and "3/3" in lines[-1]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n\nq\n"))  # step, step, quit
    frames = [json.loads(line) for line in cli("replay", sid, "--mode", "step", "--json").splitlines()]
    assert [f["status"] for f in frames] == ["PAUSED", "PAUSED", "STOPPED"]


def test_events_tail_follows_until_the_session_is_deleted(cli: Any, rclient: SessionClient) -> None:
    sid = rclient.create_session()
    output: list[str] = []
    tail = threading.Thread(target=lambda: output.append(cli("events", "tail", sid)))
    tail.start()
    rclient.append_events(sid, [{"type": "live.one", "payload": {"x": 1}}])
    time.sleep(0.3)
    rclient.delete_session(sid)
    tail.join(10)
    lines = output[0].splitlines()
    assert [line.split()[2] for line in lines] == ["session.created", "live.one"]
