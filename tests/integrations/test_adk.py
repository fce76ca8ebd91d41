"""The ADK services beside ADK's in-memory ones on the same sequences, both backends."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

pytest.importorskip("google.adk")

from google.adk.artifacts import InMemoryArtifactService  # noqa: E402
from google.adk.events.event import Event  # noqa: E402
from google.adk.events.event_actions import EventActions  # noqa: E402
from google.adk.sessions import InMemorySessionService  # noqa: E402
from google.adk.sessions.base_session_service import GetSessionConfig  # noqa: E402
from google.genai import types  # noqa: E402
from llmspell_sessions.integrations import SessionBackend  # noqa: E402
from llmspell_sessions.integrations.adk import LlmspellArtifactService, LlmspellSessionService  # noqa: E402


def view(session: Any) -> Any:
    """What must match: ids, state, and events (times are each store's own)."""
    if session is None:
        return None
    events = [(e.id, e.author, e.content, e.actions.state_delta, e.timestamp) for e in session.events]
    return session.id, session.app_name, session.user_id, dict(session.state), events


async def session_sequence(service: Any, app: str) -> list[Any]:
    seen: list[Any] = []
    alice = await service.create_session(
        app_name=app,
        user_id="alice",
        session_id="s1",
        state={"topic": "tea", "app:theme": "dark", "user:lang": "en", "temp:x": 1},
    )
    seen.append(view(alice))
    bob = await service.create_session(app_name=app, user_id="bob", session_id="s2", state={"user:lang": "fr"})
    seen.append(view(bob))
    for n in range(4):
        delta = {"turn": n, "app:count": n, "user:seen": n, "temp:scratch": n}
        event = Event(
            invocation_id=f"i{n}",
            author="agent",
            timestamp=1000.0 + n,
            id=f"e{n}",
            content=types.Content(role="model", parts=[types.Part(text=f"reply {n}")]),
            actions=EventActions(state_delta=delta),
        )
        await service.append_event(alice, event)
        seen.append(dict(alice.state))  # temp: applied to the live object, never stored
    await service.append_event(alice, Event(invocation_id="p", author="agent", partial=True))
    for config in (
        None,
        GetSessionConfig(num_recent_events=2),
        GetSessionConfig(num_recent_events=0),
        GetSessionConfig(after_timestamp=1002.0),
    ):
        seen.append(view(await service.get_session(app_name=app, user_id="alice", session_id="s1", config=config)))
    seen.append(view(await service.get_session(app_name=app, user_id="bob", session_id="s2")))
    seen.append(await service.get_user_state(app_name=app, user_id="alice"))
    for user in ("alice", None):
        listed = await service.list_sessions(app_name=app, user_id=user)
        seen.append(sorted((s.user_id, s.id, sorted(s.state.items())) for s in listed.sessions))
    try:
        await service.create_session(app_name=app, user_id="alice", session_id="s1")
    except Exception as error:  # noqa: BLE001 - the class must match
        seen.append(type(error).__name__)
    await service.delete_session(app_name=app, user_id="alice", session_id="s1")
    seen.append(view(await service.get_session(app_name=app, user_id="alice", session_id="s1")))
    seen.append(view(await service.get_session(app_name=app, user_id="bob", session_id="s2")))
    return seen


def test_session_service_matches_in_memory(backend: SessionBackend) -> None:
    app = f"app-{uuid.uuid4()}"
    ours = asyncio.run(session_sequence(LlmspellSessionService(backend), app))
    theirs = asyncio.run(session_sequence(InMemorySessionService(), app))
    assert ours == theirs


async def artifact_sequence(service: Any, app: str) -> list[Any]:
    seen: list[Any] = []
    png = types.Part(inline_data=types.Blob(mime_type="image/png", data=b"\x89PNG" + bytes(range(256)) * 100))
    for n, part in enumerate([types.Part(text="v0"), png, types.Part(text="v2")]):
        seen.append(
            await service.save_artifact(
                app_name=app, user_id="u", session_id="s", filename="report.md", artifact=part, custom_metadata={"n": n}
            )
        )
    seen.append(
        await service.save_artifact(
            app_name=app, user_id="u", filename="user:profile.json", artifact=types.Part(text="{}")
        )
    )
    seen.append(
        await service.save_artifact(
            app_name=app, user_id="u", session_id="other", filename="x.txt", artifact=types.Part(text="elsewhere")
        )
    )
    for version in (None, 0, 1, 2, 3, -1):
        seen.append(
            await service.load_artifact(
                app_name=app, user_id="u", session_id="s", filename="report.md", version=version
            )
        )
    seen.append(await service.load_artifact(app_name=app, user_id="u", session_id="s", filename="missing"))
    seen.append(await service.list_artifact_keys(app_name=app, user_id="u", session_id="s"))
    seen.append(await service.list_versions(app_name=app, user_id="u", session_id="s", filename="report.md"))
    versions = await service.list_artifact_versions(app_name=app, user_id="u", session_id="s", filename="report.md")
    seen.append([(v.version, v.mime_type, v.custom_metadata) for v in versions])
    latest = await service.get_artifact_version(app_name=app, user_id="u", session_id="s", filename="report.md")
    seen.append((latest.version, latest.mime_type) if latest else None)
    await service.delete_artifact(app_name=app, user_id="u", session_id="s", filename="report.md")
    seen.append(await service.list_versions(app_name=app, user_id="u", session_id="s", filename="report.md"))
    seen.append(
        await service.save_artifact(
            app_name=app, user_id="u", session_id="s", filename="report.md", artifact=types.Part(text="again")
        )
    )
    seen.append(await service.load_artifact(app_name=app, user_id="u", session_id="s", filename="report.md"))
    seen.append(await service.list_artifact_keys(app_name=app, user_id="u", session_id="s"))
    return seen


def test_artifact_service_matches_in_memory(backend: SessionBackend) -> None:
    app = f"app-{uuid.uuid4()}"
    ours = asyncio.run(artifact_sequence(LlmspellArtifactService(backend), app))
    theirs = asyncio.run(artifact_sequence(InMemoryArtifactService(), app))
    assert ours == theirs


def test_a_session_past_one_read_returns_every_event_and_key(backend: SessionBackend) -> None:
    """More events (1000) and state keys (1000) than one ReadSession returns: the service pages the rest."""
    service = LlmspellSessionService(backend)
    app = f"big-{uuid.uuid4()}"
    session = asyncio.run(service.create_session(app_name=app, user_id="u", session_id="s"))
    sid = service.sessions.find(f"{app}\x00u\x00s")
    assert sid is not None
    events = [
        {"type": "adk.event", "payload": {"event": Event(id=f"e{n}", author="a", invocation_id="i").model_dump_json()}}
        for n in range(1005)
    ]
    for first in range(0, len(events), 500):  # written below the service, in bulk, to keep the test short
        backend.apply_changes(
            sid, {f"k{n:04}": n for n in range(first, first + 500)}, events=events[first : first + 500]
        )
    stored = asyncio.run(service.get_session(app_name=app, user_id="u", session_id=session.id))
    assert stored is not None
    assert [e.id for e in stored.events] == [f"e{n}" for n in range(1005)]
    assert len(stored.state) == 1500 and stored.state["k1499"] == 1499
    recent = asyncio.run(
        service.get_session(app_name=app, user_id="u", session_id="s", config=GetSessionConfig(num_recent_events=3))
    )
    assert recent is not None and [e.id for e in recent.events] == ["e1002", "e1003", "e1004"]
