"""Every operation of the engine passes admission before anything else: no path can skip the rules.

Introspects SessionManager's public surface, so a new operation that forgets admission fails here. An
exhausted tenant rate is the probe: admission checks the role and then the rate, before any argument
is looked at or any storage touched, so every operation must answer RATE_LIMITED.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.errors import RateLimited
from llmspell_sessions.model import Caller, ReplayStart, Role, UploadHeader

# Not operations on a caller's behalf: the engine's own upkeep and static answers.
NOT_OPERATIONS = {
    "maintain",
    "sweep_timeouts",
    "expire_uploads",
    "collect_garbage",
    "compact_segments",
    "apply_retention",
    "retention_totals",
    "close",
    "capabilities",
    "active_sessions",
    "ping_storage",
    "ping_blobs",
    "inline_transaction",  # the server's scheduling of a call it admits itself (rpc/execution.py)
}
SID = "01a24217-18a2-7015-aaf5-b64243956fc8"


def _operations() -> list[str]:
    return sorted(
        name
        for name, member in inspect.getmembers(SessionManager, inspect.isfunction)
        if not name.startswith("_") and name not in NOT_OPERATIONS
    )


def _placeholder(parameter: inspect.Parameter) -> Any:
    """A well-shaped argument; admission runs before anything looks at it."""
    annotation = str(parameter.annotation)
    if "UploadHeader" in annotation:
        return UploadHeader(SID, "name")
    if "ReplayStart" in annotation:
        return ReplayStart(SID)
    if "AsyncIterator" in annotation or "Iterable[tuple" in annotation:
        return iter(())
    if "Sequence" in annotation or "Iterable" in annotation:
        return []
    if annotation.startswith("bytes"):
        return b"x"
    if annotation.startswith("int"):
        return 1
    return SID


def _call(manager: SessionManager, name: str, caller: Caller) -> None:
    method = getattr(manager, name)
    arguments = {
        p.name: _placeholder(p)
        for p in inspect.signature(method).parameters.values()
        if p.default is inspect.Parameter.empty and p.kind is not inspect.Parameter.VAR_KEYWORD
    }
    method(**arguments, caller=caller)


@pytest.fixture
def limited(tmp_path: Path) -> Iterator[SessionManager]:
    with SessionManager(storage_path=str(tmp_path / "db"), start_sweeper=False, rate_limit_global=1) as manager:
        yield manager


def test_the_surface_is_what_this_test_knows() -> None:
    assert len(_operations()) >= 40  # a sanity check of the introspection itself
    assert {"create_session", "commit_artifact", "fork_session", "upload_chunks", "replay_session"} <= set(
        _operations()
    )


@pytest.mark.parametrize("operation", _operations())
def test_every_operation_is_rate_limited_first(limited: SessionManager, operation: str) -> None:
    caller = Caller(tenant="busy", subject="someone", role=Role.OPERATOR)  # every role check passes
    limited.list_sessions(caller=caller)  # the bucket holds 1.5 tokens: one call leaves half a token
    with pytest.raises(RateLimited):
        _call(limited, operation, caller)
