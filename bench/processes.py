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


# Limits out of the way, so that the figures are the cost of a call rather than of a refusal.
SESSION_SERVER_ENV = {
    "LLMSPELL_SESSION_MAX_SESSIONS": "1000000",
    "LLMSPELL_SESSION_RATE_LIMIT_GLOBAL": "1000000000",
    "LLMSPELL_SESSION_RATE_LIMIT_PER_SESSION": "1000000000",
}

# Rate limits off (0) rather than merely high, and the session / artifact limits out of reach: for the
# load scenarios (concurrency, agent mix), where thousands of sessions and artifacts are made.
UNLIMITED_SERVER_ENV = {
    "LLMSPELL_SESSION_MAX_SESSIONS": "10000000",
    "LLMSPELL_SESSION_RATE_LIMIT_GLOBAL": "0",
    "LLMSPELL_SESSION_RATE_LIMIT_PER_SESSION": "0",
    "LLMSPELL_SESSION_MAX_ARTIFACTS_PER_SESSION": "100000",
    "LLMSPELL_SESSION_MAX_SESSION_BYTES": str(1 << 40),
    "LLMSPELL_SESSION_IDLE_TIMEOUT": "0",
    "LLMSPELL_SESSION_SESSION_TIMEOUT": "0",
}
