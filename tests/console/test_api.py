"""The console's JSON API without a browser: the same tokens, roles, tenants and errors as gRPC, and
the HTTP-only rules (CSRF header, Host, security headers, no token in the log)."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import blake3
import pytest
from llmspell_sessions.client import SessionClient

from .console import API_HEADERS, Console, start_console

STATIC = Path(__file__).resolve().parents[2] / "server" / "llmspell_sessions" / "console" / "static"


def test_pages_and_calls_carry_the_security_headers(console: Console) -> None:
    for path, method, headers in (("/", "GET", {}), ("/api/SessionService/ListSessions", "POST", API_HEADERS)):
        status, got, _ = console.request(method, path, b"{}" if method == "POST" else None, headers)
        assert "frame-ancestors 'none'" in got["content-security-policy"]
        assert "script-src 'self'" in got["content-security-policy"]
        assert got["x-content-type-options"] == "nosniff"
        assert "set-cookie" not in got


def test_a_call_without_a_token_is_unauthenticated(console: Console) -> None:
    assert console.api("SessionService/ListSessions", token="") == (
        401,
        {
            "code": "UNAUTHENTICATED",
            "reason": "UNAUTHENTICATED",
            "message": "an 'authorization: Bearer <token>' header is required",
            "metadata": {},
        },
    )
    status, body = console.api("SessionService/ListSessions", token="tok-nobody")
    assert (status, body["reason"]) == (401, "UNAUTHENTICATED")


def test_another_tenants_session_is_not_found(console: Console, eve: SessionClient) -> None:
    theirs = eve.create_session(name="eve's")
    status, body = console.api("SessionService/GetSession", {"session_id": theirs})
    assert (status, body["code"], body["reason"]) == (404, "NOT_FOUND", "SESSION_NOT_FOUND")
    status, body = console.api("ReplayService/GetSnapshot", {"session_id": theirs, "at_seq": 1})
    assert (status, body["reason"]) == (404, "SESSION_NOT_FOUND")
    assert console.api("SessionService/GetSession", {"session_id": theirs}, token="tok-eve")[0] == 200


def test_a_reader_cannot_rewind_checkpoint_or_fork(console: Console, alice: SessionClient) -> None:
    session = alice.create_session(name="to rewind")
    alice.apply_changes(session, {"k": 1}, events=[{"type": "step", "payload": {}}])
    current = alice.grant_session_access(session, "rita", "write")  # her role still caps her at reading
    status, body = console.api(
        "ReplayService/RewindSession", {"session_id": session, "to_seq": 1, "etag": current.etag}, token="tok-rita"
    )
    assert (status, body["code"], body["reason"]) == (403, "PERMISSION_DENIED", "ACCESS_DENIED")
    status, body = console.api("ReplayService/CreateCheckpoint", {"session_id": session}, token="tok-rita")
    assert status == 403
    status, body = console.api("ReplayService/ForkSession", {"session_id": session, "at_seq": 1}, token="tok-rita")
    assert (status, body["reason"]) == (403, "ACCESS_DENIED")
    assert alice.list_sessions(parent_session_id=session).total_size == 0  # no fork was made
    assert console.api("SessionService/GetSession", {"session_id": session}, token="tok-rita")[0] == 200
    assert alice.get_session(session).etag == current.etag  # nothing changed


def test_mutating_calls_need_the_console_header_and_json(console: Console, alice: SessionClient) -> None:
    session = alice.create_session(name="csrf")
    body = json.dumps({"session_id": session, "label": "x"}).encode()
    auth = {"Authorization": "Bearer tok-alice"}
    path = "/api/ReplayService/CreateCheckpoint"
    status, _, data = console.request("POST", path, body, {**auth, "Content-Type": "application/json"})
    assert (status, json.loads(data)["reason"]) == (403, "CSRF_HEADER_MISSING")
    status, _, _ = console.request(
        "POST", path, body, {**auth, "X-Llmspell-Console": "1", "Content-Type": "text/plain"}
    )
    assert status == 415
    status, _, _ = console.request("POST", path, body, {**auth, **API_HEADERS, "Origin": "http://evil.example"})
    assert status == 403
    status, _, _ = console.request("POST", path, body, {**auth, **API_HEADERS, "Sec-Fetch-Site": "cross-site"})
    assert status == 403
    assert alice.list_checkpoints(session).items == []
    status, _, _ = console.request("POST", path, body, {**auth, **API_HEADERS})
    assert status == 200 and len(alice.list_checkpoints(session).items) == 1


def test_another_host_name_is_misdirected(console: Console) -> None:
    port = console.http.rsplit(":", 1)[1]
    status, _, _ = console.request("GET", "/", None, {"Host": f"attacker.example:{port}"})
    assert status == 421
    status, _, _ = console.request(
        "POST", "/api/SessionService/ListSessions", b"{}", {**API_HEADERS, "Host": "attacker.example"}
    )
    assert status == 421
    assert console.request("GET", "/", None, {"Host": f"localhost:{port}"})[0] == 200


def test_errors_are_mapped_to_status_and_json(console: Console, alice: SessionClient) -> None:
    status, body = console.api("SessionService/GetSession", {"session_id": 7})
    assert (status, body["code"]) == (400, "INVALID_ARGUMENT")
    status, _, data = console.request(
        "POST", "/api/SessionService/ListSessions", b"{not json", {**API_HEADERS, "Authorization": "Bearer tok-alice"}
    )
    assert (status, json.loads(data)["code"]) == (400, "INVALID_ARGUMENT")
    status, body = console.api("SessionService/DeleteSession", {"session_id": "x"})
    assert (status, body["code"]) == (404, "NOT_FOUND")  # not a console call: deleting stays gRPC-only
    session = alice.create_session(name="etag")
    status, body = console.api("ReplayService/RewindSession", {"session_id": session, "to_seq": 0, "etag": "stale"})
    assert (status, body["reason"]) == (409, "ETAG_MISMATCH")


def test_the_token_is_never_logged(console: Console) -> None:
    marker = f"corr-{time.monotonic_ns()}"
    assert console.api("SessionService/ListSessions", {}, **{"X-Correlation-Id": marker})[0] == 200
    assert console.api("SessionService/ListSessions", {}, token="tok-wrong-secret")[0] == 401
    deadline = time.monotonic() + 10
    while not any(marker in line for line in console.server.log) and time.monotonic() < deadline:
        time.sleep(0.05)
    line = next(line for line in console.server.log if marker in line)
    assert "SessionService/ListSessions OK" in line and "subject=alice" in line and "tenant=acme" in line
    log = "".join(console.server.log)
    assert "tok-alice" not in log and "tok-wrong-secret" not in log


def test_subscribe_streams_history_then_live_events(console: Console, alice: SessionClient) -> None:
    session = alice.create_session(name="tail")
    alice.append_events(session, [{"type": "one", "payload": {"n": 1}}])
    last = alice.get_session(session).last_event_seq
    lines = console.ndjson("subscribe", {"session_id": session, "after_seq": 0})
    history = [next(lines) for _ in range(last)]
    assert [e["seq"] for e in history] == [str(seq) for seq in range(1, last + 1)] and history[-1]["type"] == "one"
    alice.append_events(session, [{"type": "two", "payload": {"n": 2}}])
    event = next(lines)
    assert (event["type"], event["seq"], event["actor"]) == ("two", str(last + 1), "alice")
    lines.close()


def test_replay_is_steered_by_its_owner_only(console: Console, alice: SessionClient) -> None:
    session = alice.create_session(name="replay")
    alice.apply_changes(session, {"a": 1}, events=[{"type": "s1", "payload": {}}])
    alice.apply_changes(session, {"b": 2}, events=[{"type": "s2", "payload": {}}])
    frames = console.ndjson("replay", {"session_id": session, "mode": "REPLAY_MODE_STEP"})
    replay_id = next(frames)["replay_id"]
    control = {"replay_id": replay_id, "control": {"step": {}}}
    status, body = console.api("replay/control", control, token="tok-walt")
    assert (status, body["reason"]) == (404, "REPLAY_NOT_FOUND")
    assert console.api("replay/control", control)[0] == 200
    first = next(frames)
    while "event" not in first:  # a PAUSED frame may come before the first step's event
        first = next(frames)
    assert first["event"]["seq"] == "1" and first["index"] == "1"
    console.api("replay/control", {"replay_id": replay_id, "control": {"stop": {}}})
    assert [f["status"] for f in frames][-1] == "REPLAY_STATUS_STOPPED"


def test_download_sends_the_verified_bytes_and_digest(
    console: Console, alice: SessionClient, eve: SessionClient
) -> None:
    session = alice.create_session(name="files")
    content = b"hello console\n" * 5000
    artifact_id = alice.store_artifact(session, "notes/a.txt", content, mime_type="text/plain")
    status, headers, data = console.request(
        "POST",
        "/api/download",
        json.dumps({"artifact_id": artifact_id}).encode(),
        {**API_HEADERS, "Authorization": "Bearer tok-alice"},
    )
    assert status == 200 and data == content
    assert headers["x-llmspell-digest"] == blake3.blake3(content).hexdigest()
    assert headers["content-type"] == "application/octet-stream" and "a.txt" in headers["content-disposition"]
    status, headers, data = console.request(
        "POST",
        "/api/download",
        json.dumps({"artifact_id": artifact_id}).encode(),
        {**API_HEADERS, "Authorization": "Bearer tok-eve"},
    )
    assert status == 404 and json.loads(data)["reason"] == "ARTIFACT_NOT_FOUND"


def test_static_files_fetch_nothing_from_elsewhere() -> None:
    for path in STATIC.rglob("*"):
        if path.is_file():
            text = path.read_text()
            urls = set(re.findall(r"https?://[^\s\"')]+", text)) - {"http://www.w3.org/2000/svg"}
            assert not urls, f"{path.name} refers to {urls}"
            assert "innerHTML" not in text and "insertAdjacentHTML" not in text


def test_a_console_without_tokens_stays_on_loopback(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "llmspell_sessions", "serve", "--address", "127.0.0.1:0", "--path", str(tmp_path)]
    done = subprocess.run([*command, "--console-address", "0.0.0.0:0"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "refusing to serve 0.0.0.0:0 without tokens" in done.stderr


@pytest.mark.parametrize("call", ["SessionService/ListSessions", "ArtifactService/GetStorageStats"])
def test_every_role_reads_its_tenant(console: Console, call: str) -> None:
    assert console.api(call, {}, token="tok-rita")[0] == 200


def test_stopping_the_server_ends_open_streams(tmp_path: Path) -> None:
    console = start_console(tmp_path)
    with SessionClient(console.address, token="tok-alice") as alice:
        session = alice.create_session(name="tail at shutdown")
    lines = console.ndjson("subscribe", {"session_id": session, "after_seq": 1})
    started = time.monotonic()
    stopping = threading.Timer(0.5, console.server.terminate)
    stopping.start()
    assert list(lines) == []  # the stream ends (no error line: the client is told nothing more)
    stopping.join()
    assert console.server.process is not None and console.server.process.wait(20) == 0
    assert time.monotonic() - started < 8  # not held for the 10 s grace period


def test_a_console_address_in_use_is_refused(console: Console, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "llmspell_sessions", "serve", "--address", "127.0.0.1:0", "--path", str(tmp_path)]
    done = subprocess.run([*command, "--console-address", console.http], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and f"address {console.http} is in use" in done.stderr


def test_the_engines_rate_limit_is_a_429_with_retry_after(tmp_path: Path) -> None:
    console = start_console(tmp_path, env={"LLMSPELL_SESSION_RATE_LIMIT_GLOBAL": "2"})
    try:
        answers = [
            console.request(
                "POST", "/api/SessionService/ListSessions", b"{}", {**API_HEADERS, "Authorization": "Bearer tok-alice"}
            )
            for _ in range(20)
        ]
        limited = [(headers, json.loads(body)) for status, headers, body in answers if status == 429]
        assert limited, [status for status, _, _ in answers]
        headers, body = limited[0]
        assert body["reason"] == "RATE_LIMITED" and int(headers["retry-after"]) >= 1
    finally:
        console.server.stop()


def test_a_tail_the_browser_leaves_is_ended_and_logged(console: Console, alice: SessionClient) -> None:
    session = alice.create_session(name="left")
    before = sum("SubscribeEvents CANCELLED" in line for line in console.server.log)
    lines = console.ndjson("subscribe", {"session_id": session, "after_seq": 0})
    assert next(lines)["type"] == "session.created"
    lines.close()  # the connection closes, as when a page is left
    deadline = time.monotonic() + 10
    while sum("SubscribeEvents CANCELLED" in line for line in console.server.log) == before:
        assert time.monotonic() < deadline, "the server did not end the subscription"
        time.sleep(0.05)


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"\xff",
        b'{"replay_id": "x", "control": {"nope": 1}}',
        b'{"replay_id": "x", "control": {"set_speed": {"speed": "fast"}}}',
        b'{"replay_id": 7, "control": {"step": {}}}',
        b'{"replay_id": "x", "control": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    ],
)
def test_a_malformed_replay_control_is_a_400(console: Console, body: bytes) -> None:
    status, _, data = console.request(
        "POST", "/api/replay/control", body, {**API_HEADERS, "Authorization": "Bearer tok-alice"}
    )
    assert (status, json.loads(data)["code"]) == (400, "INVALID_ARGUMENT")


@pytest.mark.parametrize("call", ["subscribe", "replay"])
def test_a_stream_of_a_session_the_caller_cannot_see_fails_with_its_status(
    console: Console, alice: SessionClient, eve: SessionClient, call: str
) -> None:
    """The status line says it, before any line of the stream (not a 200 whose only line is an error)."""
    theirs = eve.create_session(name="eve's stream")
    ours = alice.create_session(name="alice's stream")
    for token, session, expected in (
        ("tok-alice", theirs, (404, "SESSION_NOT_FOUND")),
        ("tok-walt", ours, (403, "ACCESS_DENIED")),  # same tenant, not his and not granted
        ("tok-alice", "not-a-session-id", (400, "INVALID_ARGUMENT")),
    ):
        status, headers, data = console.request(
            "POST",
            f"/api/{call}",
            json.dumps({"session_id": session}).encode(),
            {**API_HEADERS, "Authorization": f"Bearer {token}"},
        )
        assert headers["content-type"].startswith("application/json"), data
        assert (status, json.loads(data)["reason"]) == expected


def test_a_malformed_http_request_is_a_400_logged_without_its_bytes(console: Console) -> None:
    """aiohttp's parser errors (a request line too long, a duplicate Host) are the client's: no ERROR
    traceback per request, nothing of what the client sent in the log, one rate-limited INFO line."""
    port = int(console.http.rsplit(":", 1)[1])
    marker = f"secret{time.monotonic_ns()}"
    requests = [
        f"GET /?q={marker}{'x' * 9000} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n",
        f"GET /{marker} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: {marker}\r\n\r\n",
    ]
    for request in requests:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(request.encode())
            assert connection.recv(4096).split(b"\r\n")[0].endswith(b" 400 Bad Request")
    after = f"after-{time.monotonic_ns()}"  # a call logged after both: the log read so far holds all they logged
    assert console.api("SessionService/ListSessions", {}, **{"X-Correlation-Id": after})[0] == 200
    deadline = time.monotonic() + 10
    while not any(after in logged for logged in console.server.log):
        assert time.monotonic() < deadline, "the call after them was not logged"
        time.sleep(0.05)
    log = "".join(console.server.log)
    assert marker not in log
    assert "Error handling request" not in log and "Traceback" not in log
    assert "malformed request(s) in the last 10s; latest console HTTP request: 400 LineTooLong" in log


def test_a_grant_opens_a_session_to_a_writer_and_a_revoke_closes_it(console: Console, alice: SessionClient) -> None:
    session = alice.create_session(name="granted")
    listed = console.api("SessionService/ListSessions", {"search": "granted"}, token="tok-walt")[1]
    assert session not in [s["session_id"] for s in listed["sessions"]]
    assert console.api("ReplayService/CreateCheckpoint", {"session_id": session}, token="tok-walt")[0] == 403

    alice.grant_session_access(session, "walt", "write")
    listed = console.api("SessionService/ListSessions", {"search": "granted"}, token="tok-walt")[1]
    assert session in [s["session_id"] for s in listed["sessions"]]
    status, checkpoint = console.api("ReplayService/CreateCheckpoint", {"session_id": session}, token="tok-walt")
    assert status == 200 and checkpoint["session_id"] == session
    last = alice.get_session(session).last_event_seq
    tail = console.ndjson("subscribe", {"session_id": session, "after_seq": last - 1}, token="tok-walt")
    assert next(tail)["seq"] == str(last)  # the tail is open

    alice.revoke_session_access(session, "walt")  # at once: his open tail ends, his calls are refused
    assert next(tail)["error"]["reason"] == "ACCESS_DENIED"
    status, body = console.api("ReplayService/GetSnapshot", {"session_id": session}, token="tok-walt")
    assert (status, body["reason"]) == (403, "ACCESS_DENIED")
