"""The event log: AppendEvents rules, ListEvents filters and paging, gapless seqs under concurrent writers."""

from __future__ import annotations

import threading

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import (
    InvalidArgument,
    LlmspellError,
    SeqMismatch,
    SessionNotActive,
    SessionNotFound,
)

from tests.replay.conftest import ReplayClient

MISSING = "01900000-0000-7000-8000-000000000000"


def _all_events(client: SessionClient | SessionManager, sid: str) -> list:
    events, token = [], ""
    while True:
        page = client.list_events(sid, page_size=1000, page_token=token)
        events += page.items
        token = page.next_page_token
        if not token:
            return events


def test_append_assigns_following_seqs_in_one_write(rclient: SessionClient) -> None:
    sid = rclient.create_session(name="log")
    events = rclient.append_events(
        sid, [{"type": "tool.call", "payload": {"n": 1}, "causation_id": "c1"}, {"type": "tool.result"}]
    )
    assert [(e.seq, e.type) for e in events] == [(2, "tool.call"), (3, "tool.result")]
    assert events[0].payload == {"n": 1} and events[0].causation_id == "c1"
    assert events[0].correlation_id == events[1].correlation_id != ""
    assert rclient.get_session(sid).last_event_seq == 3
    assert [e.type for e in _all_events(rclient, sid)] == ["session.created", "tool.call", "tool.result"]


def test_expected_last_seq_is_optimistic_concurrency(rclient: SessionClient) -> None:
    sid = rclient.create_session()
    assert rclient.append_events(sid, [{"type": "a"}], expected_last_seq=1)[0].seq == 2
    with pytest.raises(SeqMismatch) as caught:
        rclient.append_events(sid, [{"type": "b"}], expected_last_seq=1)
    assert caught.value.code == "ABORTED" and caught.value.metadata["last_seq"] == "2"
    assert rclient.get_session(sid).last_event_seq == 2


@pytest.mark.parametrize(
    "event",
    [
        {"type": ""},
        {"type": "x" * 129},
        {"type": "bad\ntype"},
        {"type": "session.created"},
        {"type": "state.changed"},
        {"type": "artifact.stored"},
        {"type": "checkpoint.created"},
        {"type": "ok", "payload": {"blob": "x" * (1024 * 1024 + 10)}},
        {"type": "ok", "causation_id": "c" * 129},
    ],
)
def test_bad_events_are_invalid_argument(rclient: SessionClient, event: dict) -> None:
    sid = rclient.create_session()
    with pytest.raises(InvalidArgument):
        rclient.append_events(sid, [{"type": "fine"}, event])
    assert rclient.get_session(sid).last_event_seq == 1  # nothing of the request was written


def test_bad_requests_never_internal(rclient: SessionClient) -> None:
    sid = rclient.create_session()
    for call in (
        lambda: rclient.append_events(sid, []),
        lambda: rclient.append_events("not-an-id", [{"type": "a"}]),
        lambda: rclient.list_events(sid, after_seq=-1),
        lambda: rclient.list_events(sid, page_token="garbage"),
        lambda: rclient.list_events(sid, types=[""]),
        lambda: rclient.list_events(sid, page_size=-1),
    ):
        with pytest.raises(InvalidArgument):
            call()
    with pytest.raises(SessionNotFound):
        rclient.append_events(MISSING, [{"type": "a"}])
    with pytest.raises(SessionNotFound):
        rclient.list_events(MISSING)


def test_only_active_sessions_accept_events(rclient: SessionClient) -> None:
    sid = rclient.create_session()
    rclient.suspend_session(sid)
    with pytest.raises(SessionNotActive):
        rclient.append_events(sid, [{"type": "a"}])


def test_list_filters_by_type_prefix_and_pages(rclient: SessionClient) -> None:
    sid = rclient.create_session()
    rclient.append_events(sid, [{"type": f"tool.{i % 3}", "payload": {"i": i}} for i in range(25)])
    rclient.set_session_state(sid, {"k": 1})
    tools = rclient.list_events(sid, types=["tool.1", "tool.2"], page_size=5)
    assert len(tools.items) == 5 and tools.next_page_token
    seen, token = [], ""
    while True:
        page = rclient.list_events(sid, types=["tool.1", "tool.2"], page_size=5, page_token=token)
        seen += [e.payload["i"] for e in page.items]
        token = page.next_page_token
        if not token:
            break
    assert seen == [i for i in range(25) if i % 3]
    assert [e.seq for e in rclient.list_events(sid, after_seq=20).items] == list(range(21, 28))
    assert [e.type for e in rclient.list_events(sid, types=["state."]).items] == ["state.changed"]
    with pytest.raises(InvalidArgument):  # a token belongs to its query
        rclient.list_events(sid, types=["tool.1"], page_size=5, page_token=tools.next_page_token)


def test_default_page_is_100(engine: SessionManager) -> None:
    sid = engine.create_session()
    engine.append_events(sid, [{"type": "e"}] * 150)
    page = engine.list_events(sid)
    assert len(page.items) == 100 and page.next_page_token
    assert len(engine.list_events(sid, page_size=5000).items) == 151


def test_concurrent_writers_keep_every_log_gapless(engine: SessionManager) -> None:
    sessions = [engine.create_session(name=f"s{i}") for i in range(3)]
    failures: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for n in range(30):
                sid = sessions[(worker + n) % len(sessions)]
                engine.append_events(sid, [{"type": "w", "payload": {"w": worker, "n": n}}] * (1 + n % 3))
                if n % 7 == 0:
                    engine.set_session_state(sid, {f"w{worker}": n})
        except LlmspellError as exc:  # pragma: no cover - reported below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    for sid in sessions:
        events = _all_events(engine, sid)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert engine.get_session(sid).last_event_seq == len(events)
        for worker in range(4):  # each writer's events kept their order
            mine = [e.payload["n"] for e in events if e.type == "w" and e.payload["w"] == worker]
            assert mine == sorted(mine)


def test_concurrent_grpc_writers_keep_logs_gapless(rclient: SessionClient, replay_server) -> None:
    sessions = [rclient.create_session() for _ in range(2)]

    def write(worker: int) -> None:
        with ReplayClient(replay_server.address) as own:
            for n in range(16):
                own.append_events(sessions[n % 2], [{"type": "g", "payload": {"w": worker}}])

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for sid in sessions:
        seqs = [e.seq for e in _all_events(rclient, sid)]
        assert seqs == list(range(1, 4 * 8 + 2))
