"""RPCs per framework operation over gRPC, counted on the wire by a client interceptor."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from llmspell_sessions._pb import artifact_pb2_grpc, replay_pb2_grpc, session_pb2_grpc
from llmspell_sessions.client import SessionClient

from tests.helpers.server import ServerProcess


class CountingInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):  # type: ignore[misc]
    """Counts every unary call and server stream (downloads) that leaves the channel, by method name."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def intercept_unary_unary(
        self, continuation: Callable[[Any, Any], Any], client_call_details: Any, request: Any
    ) -> Any:
        self.calls[client_call_details.method.rsplit("/", 1)[-1]] += 1
        return continuation(client_call_details, request)

    intercept_unary_stream = intercept_unary_unary

    def take(self) -> Counter[str]:
        """The calls since the last take."""
        calls, self.calls = self.calls, Counter()
        return calls


@pytest.fixture
def counted(shared_server: ServerProcess) -> Iterator[tuple[SessionClient, CountingInterceptor]]:
    """A client whose every RPC goes through the counting interceptor."""
    counter = CountingInterceptor()
    with SessionClient(shared_server.address) as client:
        channel = grpc.intercept_channel(client.channel, counter)
        client.channel = channel  # the streams the client calls on its channel directly
        client._stubs = {  # the client has no hook of its own: point its stubs at the counted channel
            "session": session_pb2_grpc.SessionServiceStub(channel),
            "artifact": artifact_pb2_grpc.ArtifactServiceStub(channel),
            "replay": replay_pb2_grpc.ReplayServiceStub(channel),
        }
        yield client, counter


def test_agents_session_operations_are_one_round_trip(counted: tuple[SessionClient, CountingInterceptor]) -> None:
    pytest.importorskip("agents")
    from llmspell_sessions.integrations.openai_agents import LlmspellSession

    client, counter = counted
    session = LlmspellSession(f"rt-{uuid.uuid4()}", client)
    item = {"role": "user", "content": "hi"}
    asyncio.run(session.add_items([item]))  # the first call finds/creates the session once
    counter.take()

    asyncio.run(session.add_items([item, item]))
    assert counter.take() == {"ApplyChanges": 1}
    assert asyncio.run(session.get_items(10)) == [item] * 3
    assert counter.take() == {"ReadSession": 1}
    asyncio.run(session.add_items([{"n": 4}]))  # the head read by get_items is reused
    assert counter.take() == {"ApplyChanges": 1}
    assert asyncio.run(session.pop_item()) == {"n": 4}  # the item just written, guarded by the etag
    assert counter.take() == {"ApplyChanges": 1}
    assert asyncio.run(session.pop_item()) == item  # not known: read it first
    assert counter.take() == {"ReadSession": 1, "ApplyChanges": 1}
    asyncio.run(session.clear_session())
    assert counter.take() == {"ReadSession": 1, "ApplyChanges": 1}
    assert asyncio.run(session.get_items()) == []
    assert counter.take() == {"ReadSession": 1}


def test_agents_session_recovers_from_a_stale_view(counted: tuple[SessionClient, CountingInterceptor]) -> None:
    """Another writer moves the etag: the next add_items re-reads the head and loses nothing."""
    pytest.importorskip("agents")
    from llmspell_sessions.integrations.openai_agents import LlmspellSession

    client, counter = counted
    key = f"rt-{uuid.uuid4()}"
    mine, theirs = LlmspellSession(key, client), LlmspellSession(key, client)
    asyncio.run(mine.add_items([{"n": 1}]))
    asyncio.run(theirs.add_items([{"n": 2}]))
    counter.take()
    asyncio.run(mine.add_items([{"n": 3}]))
    assert counter.take() == {"ApplyChanges": 2, "ReadSession": 1}  # stale etag, head read, retried
    assert asyncio.run(theirs.get_items()) == [{"n": 1}, {"n": 2}, {"n": 3}]
    asyncio.run(mine.add_items([{"n": 5}]))
    asyncio.run(theirs.add_items([{"n": 6}]))
    counter.take()
    assert asyncio.run(mine.pop_item()) == {"n": 6}  # its cached newest ({"n": 5}) is stale: re-read
    assert counter.take() == {"ApplyChanges": 2, "ReadSession": 1}
    assert asyncio.run(theirs.get_items()) == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 5}]


def test_adk_append_event_is_one_atomic_apply_changes(counted: tuple[SessionClient, CountingInterceptor]) -> None:
    """The event and its session-scoped delta: one ApplyChanges (app:/user: keys live elsewhere)."""
    pytest.importorskip("google.adk")
    from google.adk.events.event import Event
    from google.adk.events.event_actions import EventActions
    from llmspell_sessions.integrations.adk import LlmspellSessionService

    client, counter = counted
    service = LlmspellSessionService(client)
    session = asyncio.run(service.create_session(app_name=f"rt-{uuid.uuid4()}", user_id="u"))
    counter.take()
    event = Event(author="user", invocation_id="i1", actions=EventActions(state_delta={"k": 1}))
    asyncio.run(service.append_event(session, event))
    assert counter.take() == {"ApplyChanges": 1}
    stored = asyncio.run(service.get_session(app_name=session.app_name, user_id="u", session_id=session.id))
    assert stored is not None and stored.state["k"] == 1 and [e.id for e in stored.events] == [event.id]


def test_adk_get_session_is_one_read_with_app_and_user_state(
    counted: tuple[SessionClient, CountingInterceptor],
) -> None:
    pytest.importorskip("google.adk")
    from google.adk.events.event import Event
    from google.adk.events.event_actions import EventActions
    from google.adk.sessions.base_session_service import GetSessionConfig
    from llmspell_sessions.integrations.adk import LlmspellSessionService

    client, counter = counted
    service = LlmspellSessionService(client)
    app = f"rt-{uuid.uuid4()}"
    session = asyncio.run(service.create_session(app_name=app, user_id="u", state={"app:theme": "dark"}))
    for n in range(3):
        delta = {"k": n, "user:seen": n}
        event = Event(author="user", invocation_id=f"i{n}", actions=EventActions(state_delta=delta))
        asyncio.run(service.append_event(session, event))
    counter.take()
    stored = asyncio.run(service.get_session(app_name=app, user_id="u", session_id=session.id))
    assert counter.take() == {"ReadSession": 1}
    assert stored is not None and len(stored.events) == 3
    assert stored.state == {"k": 2, "app:theme": "dark", "user:seen": 2}
    recent = asyncio.run(
        service.get_session(
            app_name=app, user_id="u", session_id=session.id, config=GetSessionConfig(num_recent_events=2)
        )
    )
    assert counter.take() == {"ReadSession": 1}
    assert recent is not None and [e.invocation_id for e in recent.events] == ["i1", "i2"]


def test_adk_artifact_calls_do_not_grow_with_versions(counted: tuple[SessionClient, CountingInterceptor]) -> None:
    pytest.importorskip("google.adk")
    from google.genai import types
    from llmspell_sessions.integrations.adk import LlmspellArtifactService

    client, counter = counted
    service = LlmspellArtifactService(client)
    where = {"app_name": f"rt-{uuid.uuid4()}", "user_id": "u", "session_id": "s"}

    def save(n: int) -> int:
        part = types.Part.from_bytes(data=f"v{n}".encode(), mime_type="text/plain")
        return asyncio.run(service.save_artifact(filename="f.txt", artifact=part, **where))

    def load(version: int | None = None) -> bytes:
        part = asyncio.run(service.load_artifact(filename="f.txt", version=version, **where))
        assert part is not None and part.inline_data is not None and part.inline_data.data is not None
        return part.inline_data.data

    assert save(0) == 0
    counter.take()
    calls = []
    for n in range(1, 6):
        assert save(n) == n
        calls.append(counter.take())
    assert calls == [{"GetArtifact": 1, "StoreArtifact": 1}] * 5
    assert load() == b"v5"
    assert counter.take() == {"DownloadArtifact": 1}
    assert load(2) == b"v2"
    assert counter.take() == {"GetArtifact": 1, "DownloadArtifact": 1}
    assert asyncio.run(service.load_artifact(filename="f.txt", version=9, **where)) is None
    asyncio.run(service.delete_artifact(filename="f.txt", **where))
    assert save(0) == 0 and load() == b"v0" and load(0) == b"v0"  # numbering restarts after a delete


def test_langgraph_saver_operations_are_one_round_trip(counted: tuple[SessionClient, CountingInterceptor]) -> None:
    pytest.importorskip("langgraph")
    from langgraph.checkpoint.base import empty_checkpoint
    from llmspell_sessions.integrations.langgraph import LlmspellSaver

    client, counter = counted
    saver = LlmspellSaver(client)
    thread = {"configurable": {"thread_id": f"rt-{uuid.uuid4()}", "checkpoint_ns": ""}}
    config: Any = thread
    for n in range(12):
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"messages": [f"m{n}"], "step": n}
        checkpoint["channel_versions"] = {"messages": n + 1, "step": n + 1}
        config = saver.put(config, checkpoint, {"step": n}, {"messages": n + 1, "step": n + 1})
        if n == 0:
            counter.take()  # the first put finds or creates the thread's session
        else:
            assert counter.take() == {"ApplyChanges": 1}
        for task in ("a", "b"):
            saver.put_writes(config, [("messages", f"w{n}{task}"), ("step", n)], task_id=task)
            assert counter.take() == {"ApplyChanges": 1}
    latest = saver.get_tuple(thread)
    assert counter.take() == {"ReadSession": 1}
    assert latest is not None and latest.checkpoint["channel_values"] == {"messages": ["m11"], "step": 11}
    assert sorted(w[2] for w in latest.pending_writes if w[1] == "messages") == ["w11a", "w11b"]
    older = saver.get_tuple(latest.parent_config or {})
    assert counter.take() == {"ReadSession": 1} and older is not None and older.metadata["step"] == 10
    page = list(saver.list(thread, limit=10))
    assert counter.take() == {"ReadSession": 1}
    assert [t.metadata["step"] for t in page] == list(range(11, 1, -1))
    assert all(len(t.pending_writes) == 4 for t in page)
    rest = list(saver.list(thread, before=page[-1].config))
    assert [t.metadata["step"] for t in rest] == [1, 0]
