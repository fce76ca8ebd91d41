"""LlmspellSession beside the SDK's SQLiteSession on the same operations, and under the SDK's Runner."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

pytest.importorskip("agents")

from agents import Agent, Runner, SQLiteSession, set_tracing_disabled  # noqa: E402
from agents.memory import Session  # noqa: E402
from agents.testing import ScriptedModel, assistant_message  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from llmspell_sessions.integrations import SessionBackend  # noqa: E402
from llmspell_sessions.integrations.openai_agents import LlmspellSession  # noqa: E402

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)
items = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": json_values})
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.lists(items, max_size=4)),
        st.tuples(st.just("get"), st.none() | st.integers(-2, 6)),
        st.tuples(st.just("pop"), st.none()),
        st.tuples(st.just("clear"), st.none()),
    ),
    max_size=12,
)


async def apply(session: Session, operation: str, argument: Any) -> Any:
    if operation == "add":
        return await session.add_items(argument)
    if operation == "get":
        return await session.get_items(argument)
    if operation == "pop":
        return await session.pop_item()
    return await session.clear_session()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations)
def test_behaves_like_sqlite_session(backend: SessionBackend, steps: list[tuple[str, Any]]) -> None:
    session_id = f"conv-{uuid.uuid4()}"
    ours, theirs = LlmspellSession(session_id, backend), SQLiteSession(session_id)

    async def run() -> None:
        for operation, argument in steps:
            assert await apply(ours, operation, argument) == await apply(theirs, operation, argument)
        assert await ours.get_items() == await theirs.get_items()

    asyncio.run(run())


def test_large_items_round_trip_through_artifacts(backend: SessionBackend) -> None:
    session = LlmspellSession(f"big-{uuid.uuid4()}", backend, inline_limit=64)
    item = {"role": "user", "content": "z" * 1000}

    async def run() -> tuple[list[Any], Any, list[Any]]:
        await session.add_items([item, {"role": "user", "content": "small"}])
        everything = await session.get_items()
        await session.pop_item()
        return everything, await session.pop_item(), await session.get_items()

    assert asyncio.run(run()) == ([item, {"role": "user", "content": "small"}], item, [])


def test_runner_keeps_the_conversation_in_the_session(backend: SessionBackend) -> None:
    set_tracing_disabled(True)
    model = ScriptedModel([[assistant_message("Paris.")], [assistant_message("About 2.1 million.")]])
    agent = Agent(name="geo", instructions="Answer briefly.", model=model)
    session = LlmspellSession(f"run-{uuid.uuid4()}", backend)

    async def run() -> list[Any]:
        first = await Runner.run(agent, "Capital of France?", session=session)
        second = await Runner.run(agent, "Population?", session=session)
        assert (first.final_output, second.final_output) == ("Paris.", "About 2.1 million.")
        return await session.get_items()

    history = asyncio.run(run())
    assert [i.get("role") for i in history] == ["user", "assistant", "user", "assistant"]
    assert history[2]["content"] == "Population?"
    # The second model call saw the first turn, read back from the store.
    second_input = model.calls[1].input
    assert isinstance(second_input, list) and second_input[0]["content"] == "Capital of France?"
