"""Fixtures of the console tests: one server with its console per module, one browser per module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llmspell_sessions.client import SessionClient

from .console import Console, browser, start_console


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    running = start_console(tmp_path_factory.mktemp("console"))
    yield running
    running.server.stop()


@pytest.fixture(scope="module")
def alice(console: Console) -> Iterator[SessionClient]:
    """A gRPC client of tenant acme with the admin role."""
    with SessionClient(console.address, token="tok-alice") as client:
        yield client


@pytest.fixture(scope="module")
def eve(console: Console) -> Iterator[SessionClient]:
    """A gRPC client of another tenant (evil)."""
    with SessionClient(console.address, token="tok-eve") as client:
        yield client


@pytest.fixture(scope="module")
def downloads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def driver(downloads: Path) -> Iterator[Any]:
    chrome = browser(downloads)
    yield chrome
    chrome.quit()
