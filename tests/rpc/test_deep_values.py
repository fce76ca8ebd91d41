"""Every JSON value the engine accepts travels back over gRPC, however deeply it nests.

protobuf parses at most 100 message levels and a JSON object costs three, so the engine takes at most
``validation.MAX_JSON_NESTING`` objects or arrays one inside another. Written through the embedded API
at that limit, as objects only (the costliest nesting), state values, event payloads and metadata are
read back by a real client from every read that carries them, including the engine's own events that
wrap them deeper still (state.changed, session.updated, session.rewound, a fork's session.created).
One level more is refused before anything is stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.client import SessionClient
from llmspell_sessions.engine.validation import MAX_JSON_NESTING
from llmspell_sessions.errors import InvalidArgument
from llmspell_sessions.model import ReplayMode, ReplayStart

from tests.helpers.server import ServerProcess

LIMIT = MAX_JSON_NESTING


def objects(levels: int, innermost: Any = "leaf") -> dict[str, Any]:
    """``levels`` objects one inside another, ``innermost`` in the last."""
    value: Any = innermost
    for _ in range(levels):
        value = {"k": value}
    return value


def mixed(levels: int) -> dict[str, Any]:
    """``levels`` containers, an array every third one (an object outermost)."""
    value: Any = 1
    for level in range(levels):
        value = [value] if level % 3 == 1 and level < levels - 1 else {"k": value}
    return value


def nesting(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((nesting(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in value), default=0)
    return 0


def test_values_at_the_nesting_limit_are_read_back_over_grpc(tmp_path: Path) -> None:
    deep, other = objects(LIMIT), mixed(LIMIT)
    assert nesting(deep) == nesting(other) == LIMIT
    store = tmp_path / "store"
    with SessionManager(storage_path=str(store)) as manager:
        sid = manager.create_session(metadata=deep)
        manager.update_session(sid, metadata=objects(LIMIT, "changed"))
        manager.set_session_state(sid, {"deep": deep, "other": other})
        restore_to = manager.get_session(sid).last_event_seq
        manager.set_session_state(sid, {"deep": 1})
        manager.rewind_session(sid, to_seq=restore_to)  # session.rewound carries deep again
        manager.append_events(sid, [{"type": "agent.deep", "payload": deep}])
        child = manager.fork_session(sid).session_id
        for too_deep in (objects(LIMIT + 1), mixed(LIMIT + 1)):
            with pytest.raises(InvalidArgument):
                manager.set_session_state(sid, {"x": too_deep})
            with pytest.raises(InvalidArgument):
                manager.append_events(sid, [{"type": "agent.deep", "payload": too_deep}])
            with pytest.raises(InvalidArgument):
                manager.create_session(metadata=too_deep)
        events = manager.get_session(sid).last_event_seq

    server = ServerProcess(store).start()
    try:
        with SessionClient(server.address) as client:
            assert client.get_session(sid).metadata == objects(LIMIT, "changed")
            assert client.get_session_state(sid) == {"deep": deep, "other": other}
            assert client.load_session(child).state == {"deep": deep, "other": other}
            assert client.get_snapshot(sid, at_seq=restore_to).state["deep"] == deep
            assert client.get_snapshot(sid, at_seq=restore_to + 1).state["deep"] == 1
            for session_id in (sid, child):
                listed = client.list_events(session_id, page_size=1000).items
                assert listed and listed[-1].seq == client.get_session(session_id).last_event_seq
                frames = list(client.replay_session(ReplayStart(session_id, mode=ReplayMode.FAST)))
                assert [f.event.seq for f in frames if f.event is not None] == [e.seq for e in listed]
            by_type = {e.type: e.payload for e in client.list_events(sid, page_size=1000).items}
            assert by_type["session.rewound"]["state"]["set"]["deep"] == deep
            assert by_type["agent.deep"] == deep
            assert len(client.list_events(sid, page_size=1000).items) == events
    finally:
        server.stop()
