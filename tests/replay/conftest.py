"""Fixtures of the history tests: a real server serving ReplayService (with the sample hooks and
automatic checkpoints), a client with the replay methods, and engines over both backends."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.client import AsyncSessionClient, SessionClient

from tests.helpers.server import ServerProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
AUTO_CHECKPOINT_EVERY = 50

ReplayClient, AsyncReplayClient = SessionClient, AsyncSessionClient


def server_env(hook_log: Path | None = None, **extra: str) -> dict[str, str]:
    env = {
        "LLMSPELL_SESSION_MAX_SESSIONS": "1000000",
        "LLMSPELL_SESSION_RATE_LIMIT_PER_SESSION": "0",
        "LLMSPELL_SESSION_RATE_LIMIT_GLOBAL": "0",
        "LLMSPELL_SESSION_AUTO_CHECKPOINT_EVERY": str(AUTO_CHECKPOINT_EVERY),
        "LLMSPELL_SESSION_HOOKS": "tests.replay.sample_hooks:VetoNamed",
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    if hook_log is not None:
        env["LLMSPELL_TEST_HOOK_LOG"] = str(hook_log)
    return {**env, **extra}


@pytest.fixture(scope="session")
def hook_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hooks") / "after.jsonl"


@pytest.fixture(scope="session")
def replay_server(tmp_path_factory: pytest.TempPathFactory, hook_log: Path) -> Iterator[ServerProcess]:
    """One server for the history tests (each creates its own sessions)."""
    server = ServerProcess(tmp_path_factory.mktemp("replay-store"), env=server_env(hook_log))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def rclient(replay_server: ServerProcess) -> Iterator[SessionClient]:
    with ReplayClient(replay_server.address) as c:
        yield c


@pytest.fixture
def replay_server_factory(server_factory: Callable[..., ServerProcess]) -> Callable[..., ServerProcess]:
    """Dedicated servers (own store) with the history tests' settings, stopped at the end."""

    def start(path: Path | None = None, **env: str) -> ServerProcess:
        return server_factory(env=server_env(**env), path=path)

    return start


@pytest.fixture(params=["memory", "rocksdb"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionManager]:
    """The embedded engine over each backend, with automatic checkpoints every 5 events."""
    with SessionManager(
        storage_backend=request.param,
        storage_path=str(tmp_path / "db"),
        max_sessions=100000,
        auto_checkpoint_every=5,
        rate_limit_per_session=0,
        rate_limit_global=0,
        start_sweeper=False,
    ) as m:
        yield m
