"""The Python examples delete what they create: each runs twice in a row on a server whose
max_sessions would refuse the second run if the first had left its sessions behind."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from llmspell_sessions import SessionState
from llmspell_sessions.client import SessionClient

from tests.helpers.server import ServerProcess

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "python").glob("*.py"))
MAX_SESSIONS = 6  # the most any example has open at once (advanced.py: a parent and 5 workers)


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    env = {"LLMSPELL_SESSION_MAX_SESSIONS": str(MAX_SESSIONS)}
    server = ServerProcess(tmp_path_factory.mktemp("examples"), env=env)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_an_example_runs_twice_and_leaves_nothing(small_server: ServerProcess, example: Path) -> None:
    env = {**os.environ, "LLMSPELL_SESSION_ADDRESS": small_server.address}
    for _ in range(2):
        done = subprocess.run([sys.executable, str(example)], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        with SessionClient(small_server.address) as client:
            left = client.list_sessions(states=[s for s in SessionState if s.value]).items
        assert left == [], [s.name for s in left]
