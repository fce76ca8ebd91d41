"""Human output: no None, sizes in KiB/MiB, ratios with 2 decimals, short tag cells, plain help text."""

from __future__ import annotations

import argparse
import json
import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from llmspell_sessions.cli.app import build_parser
from llmspell_sessions.cli.common import with_port
from llmspell_sessions.client import SessionClient

from tests.cli.conftest import Run, run_cli
from tests.helpers.server import ServerProcess


def record(run: Run) -> dict[str, str]:
    """The `key  value` lines of a record as a dict."""
    assert run.code == 0, run.err
    pairs = (line.partition(" ") for line in run.out.splitlines())
    return {key: value.strip() for key, _, value in pairs}


def test_records_show_no_none(cli: Callable[..., Run], sid: str, client: SessionClient) -> None:
    session = record(cli("session", "get", sid))
    assert session["session_id"] == sid and session["end_time"] == "" and session["state"] == "ACTIVE"
    artifact_id = client.store_artifact(sid, "a.txt", b"x")
    shown = cli("session", "get", sid).out + cli("artifact", "info", artifact_id).out + cli("artifact", "list", sid).out
    assert "None" not in shown


def test_session_fields_are_the_ones_the_server_sent(cli: Callable[..., Run], sid: str, client: SessionClient) -> None:
    """Fields the wire does not carry (active_since and state_bytes, until common.proto has them)
    would only ever show defaults: they are left out rather than shown empty or 0."""
    client.set_session_state(sid, {"k": "v"})
    session = record(cli("session", "get", sid))
    for field in ("active_since", "state_bytes"):
        assert field not in session or session[field] not in ("", "0 B")


def test_stats_in_human_sizes_and_two_decimal_ratios(cli: Callable[..., Run], sid: str, client: SessionClient) -> None:
    client.store_artifact(sid, "a.bin", bytes(3000))
    client.store_artifact(sid, "b.bin", bytes(3000))  # the same content: deduplicated
    stats = record(cli("stats", sid))
    assert stats["logical_bytes"] == "5.9 KiB (6,000 B)"
    assert stats["artifact_count"] == "2"
    assert stats["dedup_ratio"] == "2.00"
    assert re.fullmatch(r"\d+\.\d\d", stats["compression_ratio"])
    table = cli("artifact", "list", sid).out
    assert "2.9 KiB" in table and "3000" not in table


def test_session_tables_cut_long_tag_lists(cli: Callable[..., Run], client: SessionClient) -> None:
    tag = f"t{uuid.uuid4().hex[:8]}"
    sid = client.create_session(name="n" * 80, tags=[tag, "b", "c", "d", "e"])
    table = cli("session", "list", "--tag", tag).out.splitlines()
    assert len(table) == 2 and f"{tag},b,c,+2" in table[1] and ",d" not in table[1]
    assert "n" * 80 not in table[1] and "…" in table[1]
    assert "n" * 80 in cli("session", "get", sid).out  # the whole name where there is room
    client.delete_session(sid)


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                yield from _parsers(child)


def test_help_texts_are_plain_text() -> None:
    top = run_cli("--help")
    assert top.code == 0 and "serve" in top.out and "``" not in top.out
    helps = [p.format_help() for p in _parsers(build_parser())]
    assert len(helps) > 30
    for text in helps:
        assert "``" not in text and ":func:" not in text, text


@pytest.mark.parametrize(
    ("given", "dialed"),
    [
        ("localhost", "localhost:50051"),
        ("localhost:7000", "localhost:7000"),
        ("10.0.0.1", "10.0.0.1:50051"),
        ("::1", "[::1]:50051"),
        ("[::1]", "[::1]:50051"),
        ("[::1]:7000", "[::1]:7000"),
        ("unix:/tmp/sock", "unix:/tmp/sock"),
        ("dns:///example.com:443", "dns:///example.com:443"),
    ],
)
def test_a_target_without_a_port_gets_50051(given: str, dialed: str) -> None:
    assert with_port(given) == dialed


def test_target_localhost_dials_port_50051(server_factory: Callable[..., ServerProcess], tmp_path: Path) -> None:
    try:
        server_factory(args=["--address", "127.0.0.1:50051"], path=tmp_path / "store")
    except RuntimeError:
        pytest.skip("port 50051 is taken on this machine")
    created = run_cli("session", "create", "--name", "via localhost", "--target", "localhost")
    assert created.code == 0, created.err
    assert record(created)["name"] == "via localhost"


def test_session_load_shows_record_state_and_artifacts(
    cli: Callable[..., Run], sid: str, client: SessionClient
) -> None:
    client.set_session_state(sid, {"turn": 2})
    artifact_id = client.store_artifact(sid, "notes.txt", b"hi")
    out = cli("session", "load", sid).out.splitlines()
    assert out[0].split() == ["session_id", sid]
    assert out[out.index("STATE") + 1] == "turn  2"
    assert out[out.index("ARTIFACTS") + 2].split()[:2] == [artifact_id, "notes.txt"]
    loaded = json.loads(cli("session", "load", sid, "--json").out)
    assert loaded["state"] == {"turn": 2} and loaded["artifacts"][0]["artifact_id"] == artifact_id


def test_export_and_import_print_human_sizes(
    cli: Callable[..., Run], sid: str, client: SessionClient, tmp_path: Path
) -> None:
    client.store_artifact(sid, "noise.bin", os.urandom(64 * 1024))  # 64 KiB that does not compress
    archive = tmp_path / "one.tar"
    exported = cli("export", sid, "-o", str(archive))
    assert exported.code == 0, exported.err
    size = archive.stat().st_size
    assert re.fullmatch(rf"[\d.]+ KiB \({size:,} B\)", record(exported)["bytes"]), exported.out
    imported = cli("import", str(archive), "--path", str(tmp_path / "other-store"))
    assert imported.code == 0, imported.err
    assert re.fullmatch(r"[\d.]+ KiB \([\d,]+ B\)", record(imported)["bytes_stored"]), imported.out
    assert json.loads(cli("export", sid, "-o", str(archive), "--json").out)["bytes"] == size  # JSON: exact bytes
