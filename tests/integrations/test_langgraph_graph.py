"""A real StateGraph (plain Python nodes) through the saver: interrupt, resume, time travel."""

from __future__ import annotations

import asyncio
import operator
import uuid
from typing import Annotated, Any, TypedDict

import pytest

pytest.importorskip("langgraph")

from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph.types import Command, interrupt  # noqa: E402
from llmspell_sessions.integrations import SessionBackend  # noqa: E402
from llmspell_sessions.integrations.langgraph import LlmspellSaver  # noqa: E402

REPORT = "x" * 40_000  # over the inline limit: stored as an artifact


class State(TypedDict, total=False):
    steps: Annotated[list[str], operator.add]
    report: str


def plan(state: State) -> dict[str, Any]:
    return {"steps": ["plan"], "report": REPORT}


def review(state: State) -> dict[str, Any]:
    answer = interrupt({"question": "approve?"})
    return {"steps": [f"review:{answer}"]}


def act(state: State) -> dict[str, Any]:
    return {"steps": ["act"]}


def build(saver: LlmspellSaver) -> Any:
    builder = StateGraph(State)
    builder.add_node("plan", plan)
    builder.add_node("review", review)
    builder.add_node("act", act)
    builder.add_edge(START, "plan")
    builder.add_edge("plan", "review")
    builder.add_edge("review", "act")
    builder.add_edge("act", END)
    return builder.compile(checkpointer=saver)


def scenario(saver: Any, thread_id: str) -> list[tuple[tuple[str, ...], list[str]]]:
    """Interrupt, resume, go back to before "plan" and take the other answer; returns the history."""
    graph = build(saver)
    config = {"configurable": {"thread_id": thread_id}}

    first = graph.invoke({"steps": []}, config)
    assert first["__interrupt__"][0].value == {"question": "approve?"}
    assert graph.get_state(config).next == ("review",)
    done = graph.invoke(Command(resume="yes"), config)
    assert done["steps"] == ["plan", "review:yes", "act"] and done["report"] == REPORT

    history = list(graph.get_state_history(config))
    assert [s.next for s in history] == [(), ("act",), ("review",), ("plan",), ("__start__",)]
    before_plan = next(s for s in history if s.next == ("plan",))
    again = graph.invoke(None, before_plan.config)  # replays from there: a new branch
    assert again["__interrupt__"]
    replayed = graph.invoke(Command(resume="no"), config)
    assert replayed["steps"] == ["plan", "review:no", "act"]
    return [(s.next, s.values.get("steps", [])) for s in graph.get_state_history(config)]


def test_graph_interrupts_resumes_and_travels_back_in_time(backend: SessionBackend) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    thread_id = f"graph-{uuid.uuid4()}"
    ours = scenario(LlmspellSaver(backend), thread_id)
    assert ours == scenario(InMemorySaver(), thread_id)

    # A fresh saver (another process, an empty cache) sees the same thread, both branches included.
    fresh = build(LlmspellSaver(backend))
    config = {"configurable": {"thread_id": thread_id}}
    assert fresh.get_state(config).values["steps"] == ["plan", "review:no", "act"]
    assert len(list(fresh.get_state_history(config))) == len(ours)


def test_async_graph_runs_through_the_async_methods(backend: SessionBackend) -> None:
    graph = build(LlmspellSaver(backend))
    config = {"configurable": {"thread_id": f"agraph-{uuid.uuid4()}"}}

    async def run() -> dict[str, Any]:
        await graph.ainvoke({"steps": []}, config)
        return await graph.ainvoke(Command(resume="ok"), config)

    assert asyncio.run(run())["steps"] == ["plan", "review:ok", "act"]
    assert asyncio.run(graph.aget_state(config)).values["report"] == REPORT
