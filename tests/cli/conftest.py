"""Runs the real command line (`python -m llmspell_sessions ...`) as a child process against a live server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from llmspell_sessions.client import SessionClient

from tests.helpers.server import ServerProcess


@dataclass
class Run:
    """What one command line did: exit code, stdout and stderr."""

    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


def run_cli(*argv: str, target: str = "", cwd: Path | None = None, timeout: float = 60) -> Run:
    """Runs `python -m llmspell_sessions ARGV` (with LLMSPELL_SESSION_ADDRESS=target when given)."""
    env = {**os.environ, "LLMSPELL_SESSION_ADDRESS": target} if target else dict(os.environ)
    env.pop("LLMSPELL_SESSION_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "llmspell_sessions", *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def cli(shared_server: ServerProcess) -> Callable[..., Run]:
    """The command line pointed at the suite's shared server."""

    def run(*argv: str) -> Run:
        return run_cli(*argv, target=shared_server.address)

    return run


@pytest.fixture
def sid(client: SessionClient) -> Iterator[str]:
    """A fresh session of the shared server, deleted afterwards."""
    session_id = client.create_session(name="cli test")
    yield session_id
    client.delete_session(session_id)
