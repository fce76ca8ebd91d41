"""Servers in subprocesses: start one, wait for its ``serving on HOST:PORT`` line, stop it by its pid."""

from __future__ import annotations

import collections
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

READY = re.compile(r"serving on (\S+:\d+)")


class ServerProcess:
    """A running server subprocess whose stderr is drained by a thread (its last lines kept for errors)."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        self.args = list(args)
        self.proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=cwd,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.tail: collections.deque[str] = collections.deque(maxlen=40)
        self.address = ""
        self._ready = threading.Event()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.tail.append(line.rstrip())
            found = READY.search(line)
            if found and not self.address:
                self.address = found.group(1)
                self._ready.set()
        self._ready.set()

    def wait_ready(self, timeout: float = 60.0) -> str:
        """The address once the server says it serves; RuntimeError if it exits or stays silent."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.1):
            if time.monotonic() > deadline:
                break
        if not self.address:
            self.stop()
            raise RuntimeError(f"{' '.join(self.args)} did not start:\n" + "\n".join(self.tail))
        return self.address

    def stop(self, grace: float = 15.0) -> int | None:
        """SIGTERM (a graceful stop, which also lets a profiler write its file), then SIGKILL."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@contextmanager
def running(args: Sequence[str], env: Mapping[str, str], cwd: Path) -> Iterator[ServerProcess]:
    """Starts a server subprocess, yields it once ready, stops it on exit."""
    server = ServerProcess(args, env, cwd)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


def session_server_args(store: Path, backend: str = "rocksdb", *, access_log: bool = True) -> list[str]:
    """The command line of the real server on a free loopback port (``access_log=False``: no line per RPC)."""
    return [
        "-m",
        "llmspell_sessions",
        "serve",
        "--address",
        "127.0.0.1:0",
        "--path",
        str(store),
        "--backend",
        backend,
        *([] if access_log else ["--no-access-log"]),
    ]


# Session and artifact limits out of reach and rate limits off (their default): a figure is the cost
# of an operation, not of a policy refusing it. Timeouts keep their defaults. The embedded scenarios
# pass this to SessionManager, the served ones as environment (server_env).
UNLIMITED_CONFIG: dict[str, Any] = {
    "max_sessions": 10_000_000,
    "rate_limit_global": 0,
    "rate_limit_per_session": 0,
    "max_artifacts_per_session": 10_000_000,
    "max_session_bytes": 1 << 40,
}
NO_TIMEOUTS: dict[str, Any] = {"idle_timeout": 0, "session_timeout": 0}


def server_env(config: Mapping[str, Any]) -> dict[str, str]:
    """Config fields as the server's LLMSPELL_SESSION_* environment."""
    return {f"LLMSPELL_SESSION_{name.upper()}": str(value) for name, value in config.items()}


SESSION_SERVER_ENV = server_env(UNLIMITED_CONFIG)
# Also no timeouts: for the load scenarios (concurrency, agent mix), where thousands of sessions are
# made and no sweep should take part in the figures.
UNLIMITED_SERVER_ENV = server_env({**UNLIMITED_CONFIG, **NO_TIMEOUTS})
