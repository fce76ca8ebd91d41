"""The framework adapters against each framework's own stores, per operation, in the same run.

LangGraph (put, put_writes, get_tuple, list of 10), OpenAI Agents SDK (add_items of one item,
get_items of the last 10, add+pop) and Google ADK (append_event with a state delta, get_session of
the last 10 events, save_artifact, load_artifact). Each operation is interleaved across the
framework's in-memory store (the ceiling), its SQLite (or file) store, and our adapter embedded
(RocksDB) and over gRPC (the real server, RocksDB). Our figures include the adapters' worker-thread
hop for async methods, which is part of what a framework pays. Skipped when a framework is missing.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from ..framework import LATENCY, Contender, Context, Figure, Summary
from ..processes import NO_TIMEOUTS, UNLIMITED_CONFIG, UNLIMITED_SERVER_ENV, running, session_server_args

NAME = "integrations"
ORDER = 60
CEILING = "framework in-memory"
Ops = dict[str, Callable[[], object]]


@contextmanager
def backends(ctx: Context) -> Iterator[dict[str, Any]]:
    """Our two backends: the embedded engine on RocksDB and a client of the real server."""
    from llmspell_sessions import SessionManager
    from llmspell_sessions.client import SessionClient

    with ExitStack() as stack:
        path = str(ctx.tempdir("integrations-embedded") / "store")
        config = {**UNLIMITED_CONFIG, **NO_TIMEOUTS}
        manager = stack.enter_context(SessionManager(storage_path=path, start_sweeper=False, **config))
        args = session_server_args(ctx.tempdir("integrations-grpc"))
        server = stack.enter_context(running(args, UNLIMITED_SERVER_ENV, ctx.tmp_root))
        client = stack.enter_context(SessionClient(server.address))
        yield {"llmspell embedded": manager, "llmspell gRPC": client}


def langgraph_ops(store: Any) -> Ops:
    """put / put_writes / get_tuple / list(limit=10) on one growing thread."""
    from langgraph.checkpoint.base import empty_checkpoint

    config = {"configurable": {"thread_id": f"bench-{uuid.uuid4()}", "checkpoint_ns": ""}}
    latest = {"config": config}
    steps = itertools.count()

    def put() -> None:
        checkpoint = empty_checkpoint()
        step = next(steps)
        checkpoint["channel_values"] = {"messages": [f"message {step}"] * 4}
        checkpoint["channel_versions"] = {"messages": store.get_next_version(None if step == 0 else str(step), None)}
        latest["config"] = store.put(
            latest["config"], checkpoint, {"source": "loop", "step": step}, dict(checkpoint["channel_versions"])
        )

    put()
    tasks = itertools.cycle([str(uuid.uuid4()) for _ in range(4)])  # a step's few tasks, as in a real graph
    return {
        "put": put,
        "put_writes": lambda: store.put_writes(latest["config"], [("messages", "hi")], next(tasks)),
        "get_tuple": lambda: store.get_tuple(config),
        "list(limit=10)": lambda: list(store.list(config, limit=10)),
    }


def openai_ops(session: Any, loop: asyncio.AbstractEventLoop) -> Ops:
    """add_items (one item) / get_items(limit=10) / add+pop."""
    item = {"role": "user", "content": "What is the capital of France?"}
    run = loop.run_until_complete
    run(session.add_items([item] * 10))

    async def add_pop() -> None:
        await session.add_items([item])
        await session.pop_item()

    return {
        "add_items": lambda: run(session.add_items([item])),
        "get_items(limit=10)": lambda: run(session.get_items(10)),
        "add_items+pop_item": lambda: run(add_pop()),
    }


def adk_ops(sessions: Any, artifacts: Any, loop: asyncio.AbstractEventLoop) -> Ops:
    """append_event (with a state delta) / get_session(10 events) / save_artifact / load_artifact."""
    from google.adk.events.event import Event
    from google.adk.events.event_actions import EventActions
    from google.adk.sessions.base_session_service import GetSessionConfig
    from google.genai import types

    run = loop.run_until_complete
    sid = f"bench-{uuid.uuid4()}"
    session = run(sessions.create_session(app_name="bench", user_id="u", session_id=sid))
    steps = itertools.count()
    part = types.Part(text="a short report")

    def append() -> None:
        n = next(steps)
        event = Event(
            invocation_id="i",
            author="agent",
            content=types.Content(role="model", parts=[part]),
            actions=EventActions(state_delta={"turn": n}),
        )
        run(sessions.append_event(session, event))

    append()
    recent = GetSessionConfig(num_recent_events=10)
    return {
        "append_event": append,
        "get_session(10 events)": lambda: run(
            sessions.get_session(app_name="bench", user_id="u", session_id=sid, config=recent)
        ),
        "save_artifact": lambda: run(
            artifacts.save_artifact(app_name="bench", user_id="u", session_id=sid, filename="report.md", artifact=part)
        ),
        "load_artifact": lambda: run(
            artifacts.load_artifact(app_name="bench", user_id="u", session_id=sid, filename="report.md")
        ),
    }


def framework_stores(ctx: Context, ours: dict[str, Any], loop: asyncio.AbstractEventLoop) -> dict[str, dict[str, Ops]]:
    """{framework: {store: ops}} for every installed framework."""
    found: dict[str, dict[str, Ops]] = {}
    try:
        from langgraph.checkpoint.memory import InMemorySaver
        from langgraph.checkpoint.sqlite import SqliteSaver
        from llmspell_sessions.integrations.langgraph import LlmspellSaver

        db = sqlite3.connect(str(ctx.tempdir("integrations-lg") / "lg.db"), check_same_thread=False)
        found["langgraph"] = {
            CEILING: langgraph_ops(InMemorySaver()),
            "framework SQLite": langgraph_ops(SqliteSaver(db)),
            **{k: langgraph_ops(LlmspellSaver(b)) for k, b in ours.items()},
        }
    except ImportError as error:
        ctx.note(f"langgraph skipped: {error}")
    try:
        from agents import SQLiteSession
        from llmspell_sessions.integrations.openai_agents import LlmspellSession

        path = str(ctx.tempdir("integrations-oa") / "agents.db")
        found["openai-agents"] = {
            CEILING: openai_ops(SQLiteSession("bench-mem"), loop),
            "framework SQLite": openai_ops(SQLiteSession("bench-file", path), loop),
            **{k: openai_ops(LlmspellSession(f"bench-{uuid.uuid4()}", b), loop) for k, b in ours.items()},
        }
    except ImportError as error:
        ctx.note(f"openai-agents skipped: {error}")
    try:
        from google.adk.artifacts import FileArtifactService, InMemoryArtifactService
        from google.adk.sessions import InMemorySessionService
        from google.adk.sessions.sqlite_session_service import SqliteSessionService
        from llmspell_sessions.integrations.adk import LlmspellArtifactService, LlmspellSessionService

        root = ctx.tempdir("integrations-adk")
        found["adk"] = {
            CEILING: adk_ops(InMemorySessionService(), InMemoryArtifactService(), loop),
            "framework SQLite": adk_ops(
                SqliteSessionService(str(root / "adk.db")), FileArtifactService(root / "artifacts"), loop
            ),
            **{k: adk_ops(LlmspellSessionService(b), LlmspellArtifactService(b), loop) for k, b in ours.items()},
        }
    except ImportError as error:
        ctx.note(f"adk skipped: {error}")
    return found


def run(ctx: Context) -> None:
    """Every operation of every installed framework, its stores interleaved."""
    loop = asyncio.new_event_loop()
    try:
        with backends(ctx) as ours:
            for framework, stores in framework_stores(ctx, ours, loop).items():
                for op in next(iter(stores.values())):
                    contenders = [Contender(store, ops[op]) for store, ops in stores.items()]
                    found = ctx.interleave(
                        contenders, ctx.count(2_000, 100), warmup=ctx.count(100, 10), label=f"{framework} {op}"
                    )
                    record(ctx, framework, op, found)
    finally:
        loop.close()


def record(ctx: Context, framework: str, op: str, found: dict[str, Summary]) -> None:
    """One figure per store other than the ceiling, each against the framework's in-memory store."""
    for store, summary in found.items():
        if store == CEILING:
            continue
        ctx.record(
            Figure(
                NAME,
                f"{framework} {op}",
                store,
                LATENCY,
                summary,
                ceiling_name=CEILING,
                ceiling=found[CEILING],
                interleaved=True,
                info={"framework SQLite p50 ns": found["framework SQLite"].p50},
            )
        )
