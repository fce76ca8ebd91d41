"""Fixtures of the hot-path tests: each twin, and the public API bound to each twin in turn."""

from __future__ import annotations

import importlib
import os
import random
from collections.abc import Callable
from types import ModuleType

import pytest
from llmspell_sessions import hotpath


def load_twin(name: str) -> ModuleType:
    """The twin module ``_native`` or ``_pure``; a missing native build skips, or fails in CI."""
    try:
        return importlib.import_module(f"llmspell_sessions.hotpath._{name}")
    except ImportError:
        if os.environ.get("LLMSPELL_SESSIONS_REQUIRE_NATIVE") == "1":
            raise
        pytest.skip("native twin not built")


@pytest.fixture(scope="session")
def native() -> ModuleType:
    """The native twin."""
    return load_twin("native")


@pytest.fixture(scope="session")
def codec() -> ModuleType:
    """The native Struct/Value codec of the wire package; a missing build skips, or fails in CI."""
    try:
        return importlib.import_module("llmspell_sessions.wire._codec")
    except ImportError:
        if os.environ.get("LLMSPELL_SESSIONS_REQUIRE_NATIVE") == "1":
            raise
        pytest.skip("native codec not built")


@pytest.fixture(scope="session")
def pure() -> ModuleType:
    """The pure-Python twin."""
    return load_twin("pure")


@pytest.fixture(params=["native", "pure"])
def twin(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The public API (``hotpath``) running on each twin in turn, whatever the env selected."""
    module = load_twin(request.param)
    monkeypatch.setattr(hotpath, "_impl", module)
    return module


def _random_bytes(seed: int, length: int) -> bytes:
    return random.Random(seed).randbytes(length)


@pytest.fixture(scope="session")
def random_bytes() -> Callable[[int, int], bytes]:
    """Makes reproducible pseudo-random bytes from (seed, length): cheaper than hypothesis binaries."""
    return _random_bytes
