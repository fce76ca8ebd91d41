"""Structured logs: one JSON object per line, an access line per RPC, never a token or a payload."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import LlmspellError
from llmspell_sessions.rpc.logs import JsonFormatter, TextFormatter

from tests.helpers.server import ServerProcess

TOKEN = "s3cret-token-value-never-logged"
PAYLOAD_MARK = "payload-marker-7f3a"
ACCESS_KEYS = {
    "time",
    "level",
    "logger",
    "message",
    "method",
    "code",
    "duration_ms",
    "correlation_id",
    "tenant",
    "subject",
}


def _secured_config(tmp_path: Path) -> Path:
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    config = tmp_path / "server.toml"
    config.write_text(f'[[auth.tokens]]\nsha256 = "{digest}"\nsubject = "ci-bot"\ntenant = "team-a"\nrole = "writer"\n')
    return config


def _access_lines(server: ServerProcess, count: int, timeout: float = 5.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        lines = [json.loads(line) for line in list(server.log)]
        access = [line for line in lines if line["logger"] == "llmspell_sessions.access"]
        if len(access) >= count or time.monotonic() > deadline:
            return access
        time.sleep(0.05)


def test_json_lines_for_every_rpc(server_factory: Callable[..., ServerProcess], tmp_path: Path) -> None:
    server = server_factory(args=["--log-format", "json", "--config", str(_secured_config(tmp_path))])
    ready = json.loads(server.log[-1])
    assert "serving on " + server.address in ready["message"] and ready["level"] == "INFO"
    with SessionClient(server.address, token=TOKEN) as c:
        sid = c.create_session(name=PAYLOAD_MARK, metadata={"k": PAYLOAD_MARK})
        c.set_session_state(sid, {"secret": PAYLOAD_MARK})
        c.store_artifact(sid, "x.txt", PAYLOAD_MARK.encode() * 10)
    with SessionClient(server.address, token="wrong-" + TOKEN) as c:
        try:
            c.get_session(sid)
        except LlmspellError:
            pass
    access = _access_lines(server, 4)
    assert [a["method"].rsplit("/", 1)[1] for a in access] == [
        "CreateSession",
        "SetSessionState",
        "StoreArtifact",
        "GetSession",
    ]
    assert [a["code"] for a in access] == ["OK", "OK", "OK", "UNAUTHENTICATED"]
    for line in access[:3]:
        assert ACCESS_KEYS <= line.keys()
        assert (line["tenant"], line["subject"], line["level"]) == ("team-a", "ci-bot", "INFO")
        assert line["duration_ms"] >= 0 and len(line["correlation_id"]) >= 16
    assert access[3]["tenant"] == "" and access[3]["subject"] == ""
    everything = "".join(server.log)
    assert TOKEN not in everything and PAYLOAD_MARK not in everything


def test_correlation_id_from_the_header_is_logged(server_factory: Callable[..., ServerProcess]) -> None:
    import grpc
    from llmspell_sessions._pb import session_pb2, session_pb2_grpc

    server = server_factory(args=["--log-format", "json"])
    with grpc.insecure_channel(server.address) as channel:
        stub = session_pb2_grpc.SessionServiceStub(channel)
        stub.CreateSession(session_pb2.CreateSessionRequest(name="c"), metadata=[("x-correlation-id", "corr-42")])
    (line,) = _access_lines(server, 1)
    assert line["correlation_id"] == "corr-42" and line["method"] == "SessionService/CreateSession"


def test_text_format_keeps_the_ready_line_and_logs_access(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory()
    assert any(line.rstrip().endswith("serving on " + server.address) for line in server.log)
    with SessionClient(server.address) as c:
        c.create_session(name="t")
    deadline = time.monotonic() + 5
    while not any("SessionService/CreateSession OK" in line for line in server.log):
        assert time.monotonic() < deadline, server.log
        time.sleep(0.05)


def test_no_access_log_flag(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(args=["--no-access-log"])
    with SessionClient(server.address) as c:
        c.create_session(name="quiet")
    time.sleep(0.3)
    assert not any("CreateSession" in line for line in server.log)


def test_formatters_render_extra_fields_and_errors() -> None:
    record = logging.LogRecord("llmspell_sessions.access", logging.INFO, __file__, 1, "%s done", ("x",), None)
    record.method, record.code, record.tenant = "S/M", "OK", "t"
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "x done" and line["method"] == "S/M" and line["tenant"] == "t"
    assert TextFormatter().format(record).endswith("x done tenant=t")
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        failed = logging.LogRecord("l", logging.ERROR, __file__, 1, "bad", None, sys.exc_info())
    assert "ValueError: boom" in json.loads(JsonFormatter().format(failed))["error"]
