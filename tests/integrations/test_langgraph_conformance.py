"""The langgraph-checkpoint-conformance suite, every base and extended capability, both backends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

pytest.importorskip("langgraph.checkpoint.conformance")

from langgraph.checkpoint.conformance import checkpointer_test, validate  # noqa: E402
from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES  # noqa: E402
from llmspell_sessions.integrations import SessionBackend  # noqa: E402
from llmspell_sessions.integrations.langgraph import LlmspellSaver  # noqa: E402


def test_saver_passes_every_conformance_capability(backend: SessionBackend, request: pytest.FixtureRequest) -> None:
    @checkpointer_test(name=f"LlmspellSaver[{request.node.callspec.id}]")
    async def saver() -> AsyncIterator[LlmspellSaver]:
        yield LlmspellSaver(backend)

    report = asyncio.run(validate(saver))
    report.print_report()
    failures = {name: r.failures for name, r in report.results.items() if r.passed is not True}
    assert not failures
    assert {c.value for c in ALL_CAPABILITIES} == {n for n, r in report.results.items() if r.detected}
    assert report.conformance_level() == "FULL"
