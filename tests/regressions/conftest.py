"""Fixtures for the regression suite: secured servers (tokens, tenants, roles) and embedded engines."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from llmspell_sessions import SessionManager

from tests.helpers.server import ServerProcess

# token -> (subject, tenant, role). alice and carol share team-a: carol is a writer with no access to
# alice's sessions unless root grants it; bob lives in another tenant.
TOKENS: dict[str, tuple[str, str, str]] = {
    "alice-w": ("alice", "team-a", "writer"),
    "alice-r": ("alice-reader", "team-a", "reader"),
    "carol-w": ("carol", "team-a", "writer"),
    "root": ("root", "team-a", "admin"),
    "bob-w": ("bob", "team-b", "writer"),
}

SecuredFactory = Callable[..., ServerProcess]
EngineFactory = Callable[..., SessionManager]


def write_config(path: Path, extra: str = "") -> Path:
    """A TOML config with every token of TOKENS (stored by SHA-256) plus extra top-level lines."""
    lines = [extra]
    for token, (subject, tenant, role) in TOKENS.items():
        digest = hashlib.sha256(token.encode()).hexdigest()
        lines.append(
            f'[[auth.tokens]]\nsha256 = "{digest}"\nsubject = "{subject}"\ntenant = "{tenant}"\nrole = "{role}"\n'
        )
    config = path / f"server-{len(list(path.glob('server-*.toml')))}.toml"
    config.write_text("\n".join(lines))
    return config


@pytest.fixture
def secured_factory(server_factory: Callable[..., ServerProcess], tmp_path: Path) -> SecuredFactory:
    """Starts a server with the TOKENS; env and extra TOML lines tune it."""

    def start(env: dict[str, str] | None = None, extra: str = "") -> ServerProcess:
        return server_factory(env=env, args=["--config", str(write_config(tmp_path, extra))])

    return start


@pytest.fixture
def secured(secured_factory: SecuredFactory) -> ServerProcess:
    return secured_factory()


@pytest.fixture
def engine_factory(tmp_path: Path) -> Iterator[EngineFactory]:
    """Embedded engines over real RocksDB stores, no background sweeper, chunk GC without grace."""
    opened: list[SessionManager] = []

    def open_engine(**overrides: object) -> SessionManager:
        settings: dict[str, object] = {
            "storage_backend": "rocksdb",
            "storage_path": str(tmp_path / f"db{len(opened)}"),
            "chunk_gc_grace": 0.0,
            "max_sessions": 100000,
            "rate_limit_global": 0,
            "rate_limit_per_session": 0,
            **overrides,
        }
        manager = SessionManager(start_sweeper=False, **settings)
        opened.append(manager)
        return manager

    yield open_engine
    for manager in opened:
        manager.close()


@pytest.fixture
def engine(engine_factory: EngineFactory) -> SessionManager:
    return engine_factory()
