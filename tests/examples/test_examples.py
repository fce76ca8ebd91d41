"""Every example runs against a live server with the default limits (Python directly; the other
languages through their Makefiles) and leaves no session behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from llmspell_sessions import SessionState
from llmspell_sessions.client import SessionClient

from tests.helpers.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
PYTHON_EXAMPLES = sorted((ROOT / "examples" / "python").glob("*.py"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> ServerProcess:
    process = ServerProcess(tmp_path_factory.mktemp("examples"))
    process.start()
    yield process
    process.stop()


@pytest.mark.parametrize("example", PYTHON_EXAMPLES, ids=[p.stem for p in PYTHON_EXAMPLES])
def test_python_example(server: ServerProcess, example: Path) -> None:
    env = {**os.environ, "LLMSPELL_SESSION_ADDRESS": server.address}
    result = subprocess.run([sys.executable, str(example)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip(), "an example should show what it did"


@pytest.mark.parametrize("language", ["go", "typescript", "rust"])
def test_language_examples(server: ServerProcess, language: str) -> None:
    result = subprocess.run(
        ["make", "-s", "-C", str(ROOT / "clients" / language), "examples", f"TARGET={server.address}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    with SessionClient(server.address) as client:
        left = client.list_sessions(states=[s for s in SessionState if s.value]).items
    assert left == [], [s.name for s in left]


def test_there_are_examples_for_each_topic() -> None:
    assert {p.stem for p in PYTHON_EXAMPLES} >= {"basic", "artifacts", "replay", "advanced", "integration"}
    for language in ("go", "typescript", "rust"):
        assert (ROOT / "examples" / language).is_dir()
