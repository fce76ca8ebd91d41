"""Starts the real server as a child process and waits for its 'serving on HOST:PORT' line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

_READY = re.compile(r"serving on (\S+:\d+)")


class ServerProcess:
    """The server as a separate process: tests talk to it over loopback and may kill it."""

    def __init__(
        self, path: Path, *, env: dict[str, str] | None = None, args: list[str] | None = None, backend: str = "rocksdb"
    ) -> None:
        self.path = path
        self.env = {**os.environ, **(env or {})}
        self.args = args or []
        self.backend = backend
        self.process: subprocess.Popen[str] | None = None
        self.address = ""
        self.log: list[str] = []

    def start(self, timeout: float = 30.0) -> ServerProcess:
        command = [
            sys.executable,
            "-m",
            "llmspell_sessions",
            "serve",
            "--address",
            "127.0.0.1:0",
            "--path",
            str(self.path),
            "--backend",
            self.backend,
            *self.args,
        ]
        self.log = []
        self.process = subprocess.Popen(
            command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        ready = threading.Event()
        threading.Thread(target=self._read, args=(self.process, ready), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not ready.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start:\n" + "".join(self.log))
        return self

    def _read(self, process: subprocess.Popen[str], ready: threading.Event) -> None:
        assert process.stderr is not None
        for line in process.stderr:
            self.log.append(line)
            match = _READY.search(line)
            if match:
                self.address = match.group(1)
                ready.set()

    def kill(self) -> None:
        """SIGKILL: no cleanup, no flush — a crash."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def terminate(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait: the graceful path; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def restart(self) -> ServerProcess:
        if self.process is not None and self.process.poll() is None:
            self.terminate()
        return self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
