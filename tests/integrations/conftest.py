"""Backends for the adapter tests: the embedded engine and a real server over gRPC."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.client import SessionClient
from llmspell_sessions.integrations import SessionBackend

from tests.helpers.server import ServerProcess


@pytest.fixture(params=["embedded", "grpc"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SessionBackend]:
    """Each adapter test runs once in-process and once against the shared server."""
    if request.param == "embedded":
        with SessionManager(storage_backend="memory", storage_path=str(tmp_path / "db"), max_sessions=100000) as m:
            yield m
    else:
        server: ServerProcess = request.getfixturevalue("shared_server")
        with SessionClient(server.address) as client:
            yield client


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[SessionManager]:
    """An engine with default limits over a RocksDB store (durability and max_sessions tests)."""
    with SessionManager(storage_path=str(tmp_path / "rocks")) as m:
        yield m
