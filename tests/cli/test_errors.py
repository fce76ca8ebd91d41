"""Every failure of the command line is one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from llmspell_sessions.cli import common
from llmspell_sessions.cli.app import DEBUG_ENV, SERVER_STOPPING, main
from llmspell_sessions.client import SessionClient
from llmspell_sessions.rpc.interceptors import SHUTDOWN_MESSAGE

from tests.cli.conftest import Run, run_cli
from tests.helpers.server import ServerProcess


def assert_one_line_error(run: Run, *fragments: str) -> None:
    assert run.code != 0, run
    assert len(run.err_lines) == 1, run.err
    assert run.err.startswith("error: ") and "Traceback" not in run.err
    for fragment in fragments:
        assert fragment in run.err, run.err


def test_artifact_put_of_a_missing_file(cli: Callable[..., Run], sid: str, tmp_path: Path) -> None:
    missing = tmp_path / "nope.txt"
    assert_one_line_error(cli("artifact", "put", sid, str(missing)), str(missing), "No such file")


def test_artifact_put_of_a_directory(cli: Callable[..., Run], sid: str, client: SessionClient, tmp_path: Path) -> None:
    run = cli("artifact", "put", sid, str(tmp_path))
    assert_one_line_error(run, str(tmp_path), "is a directory")
    assert "UNKNOWN" not in run.err
    assert client.list_artifacts(sid).items == []


def test_artifact_get_to_an_unwritable_place(
    cli: Callable[..., Run], sid: str, client: SessionClient, tmp_path: Path
) -> None:
    artifact_id = client.store_artifact(sid, "a.txt", b"hello")
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a directory")
    assert_one_line_error(cli("artifact", "get", artifact_id, str(blocker / "out")), "cannot write", str(blocker))
    assert_one_line_error(cli("artifact", "get", artifact_id, str(tmp_path)), "is a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # no .part left anywhere
    good = cli("artifact", "get", artifact_id, str(tmp_path / "copy.txt"))
    assert good.code == 0 and (tmp_path / "copy.txt").read_bytes() == b"hello"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_artifact_get_where_no_file_can_be_made(cli: Callable[..., Run], sid: str, client: SessionClient) -> None:
    """A directory that takes no new files whatever its mode says (/proc; for root, os.access says
    yes everywhere): refused before the download, as a usage error."""
    artifact_id = client.store_artifact(sid, "a.txt", b"hello")
    run = cli("artifact", "get", artifact_id, "/proc/llmspell-copy.txt")
    assert_one_line_error(run, "artifact get: cannot write /proc/llmspell-copy.txt")
    assert run.code == 2


def test_artifact_get_of_an_unknown_id(cli: Callable[..., Run], tmp_path: Path) -> None:
    run = cli("artifact", "get", "01a24793-e2f6-7009-92fa-9c544c55c002", str(tmp_path / "out"))
    assert_one_line_error(run, "ARTIFACT_NOT_FOUND")
    assert list(tmp_path.iterdir()) == []


def test_serve_on_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        run = run_cli("serve", "--address", f"127.0.0.1:{port}", "--path", str(tmp_path / "store"), timeout=30)
    assert_one_line_error(run, f"address 127.0.0.1:{port} is in use")


def test_a_second_server_on_the_same_store(server_factory: Callable[..., ServerProcess], tmp_path: Path) -> None:
    first = server_factory(path=tmp_path / "store", backend="rocksdb")
    run = run_cli("serve", "--address", "127.0.0.1:0", "--path", str(first.path), "--backend", "rocksdb", timeout=30)
    assert_one_line_error(run, "another server holds the store", str(first.path))


def test_no_server_at_the_target() -> None:
    with socket.socket() as unused:  # a port nobody listens on: bound, never listening
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        run = run_cli("session", "list", "--target", f"127.0.0.1:{port}")
    assert_one_line_error(run, f"no server reachable at 127.0.0.1:{port}")


def test_a_tail_ended_by_a_stopping_server(server_factory: Callable[..., ServerProcess]) -> None:
    """SIGTERM with `events tail` open: the tail ends at once, saying the server is stopping (it was
    reached: not "no server reachable")."""
    server = server_factory()
    with SessionClient(server.address) as client:
        sid = client.create_session(name="tailed")
    command = [sys.executable, "-m", "llmspell_sessions", "events", "tail", sid, "--target", server.address]
    tail = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert tail.stdout is not None and tail.stderr is not None
    assert "session.created" in tail.stdout.readline()  # the history came: the subscription is live
    started = time.monotonic()
    assert server.terminate() == 0
    code = tail.wait(10)
    assert time.monotonic() - started < 5
    run = Run(code, tail.stdout.read(), tail.stderr.read())
    assert_one_line_error(run, f"the server at {server.address} is shutting down")
    assert "no server reachable" not in run.err and run.code == 1


def test_the_stopping_message_is_the_servers() -> None:
    assert SERVER_STOPPING == SHUTDOWN_MESSAGE


def test_usage_errors_are_one_line(cli: Callable[..., Run]) -> None:
    assert_one_line_error(cli("session", "get"), "session_id", "--help")
    assert_one_line_error(cli("session", "create", "--metadata", "[1]"), "JSON object")


def test_a_closed_pipe_ends_the_output_quietly(shared_server: ServerProcess, sid: str, client: SessionClient) -> None:
    client.append_events(sid, [{"type": "tool.call", "payload": {"text": "x" * 200}}] * 1000)
    command = [sys.executable, "-m", "llmspell_sessions", "events", "list", sid, "--all", "--json"]
    command += ["--target", shared_server.address]
    reader = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader.stdout is not None and reader.stderr is not None
    assert reader.stdout.read(100).startswith(b"[")  # like `| head -c 100`: read a little, then close
    reader.stdout.close()
    code = reader.wait(60)
    assert reader.stderr.read() == b""
    assert code == 141


def test_an_unexpected_error_is_one_line_unless_debugging(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(common, "client", broken)
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    assert main(["session", "list"]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"error: unexpected RuntimeError: boom second line (set {DEBUG_ENV}=1 to see the traceback)"
    ]
    monkeypatch.setenv(DEBUG_ENV, "1")
    with pytest.raises(RuntimeError, match="boom"):
        main(["session", "list"])
