"""SubscribeEvents: history then live, in order, without gaps or duplicates; slow readers; deletion."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import InvalidArgument, SessionNotFound

from tests.helpers.server import ServerProcess
from tests.replay.conftest import AsyncReplayClient, ReplayClient


def _writers(target: SessionManager | SessionClient, sid: str, threads: int, per_thread: int) -> list[threading.Thread]:
    def write(worker: int) -> None:
        for n in range(per_thread):
            target.append_events(sid, [{"type": f"live.{worker}", "payload": {"n": n}}])

    started = [threading.Thread(target=write, args=(w,)) for w in range(threads)]
    for t in started:
        t.start()
    return started


def _collect(iterator, count: int, timeout: float = 20.0) -> list:
    got: list = []
    done = threading.Event()

    def read() -> None:
        for event in iterator:
            got.append(event)
            if len(got) == count:
                break
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(timeout), f"only {len(got)} of {count} events arrived"
    return got


def test_engine_history_then_live_without_gaps(engine: SessionManager) -> None:
    sid = engine.create_session()
    engine.append_events(sid, [{"type": "old"}] * 10)
    subscription = engine.subscribe_events(sid, after_seq=3)
    writers = _writers(engine, sid, threads=3, per_thread=40)
    events = _collect(subscription, 11 - 3 + 120)
    for t in writers:
        t.join()
    subscription.close()
    assert [e.seq for e in events] == list(range(4, 132))


def test_slow_reader_reads_everything_from_the_log(engine: SessionManager) -> None:
    sid = engine.create_session()
    subscription = engine.subscribe_events(sid)
    for n in range(50):  # nobody reads meanwhile: the writer never waits
        engine.append_events(sid, [{"type": "burst", "payload": {"n": n}}] * 3)
    seqs: list[int] = []
    while True:
        delivery = subscription.poll(limit=16)
        if not delivery.events:
            break
        seqs += [e.seq for e in delivery.events]
    assert seqs == list(range(1, 152))
    engine.append_events(sid, [{"type": "after"}])
    assert [e.seq for e in subscription.poll().events] == [152]


def test_types_filter_and_deletion_ends_the_stream(engine: SessionManager) -> None:
    sid = engine.create_session()
    engine.append_events(sid, [{"type": "a.x"}, {"type": "b.y"}])
    subscription = engine.subscribe_events(sid, types=["a."])
    got: list = []
    reader = threading.Thread(target=lambda: got.extend(subscription))
    reader.start()
    engine.append_events(sid, [{"type": "b.z"}, {"type": "a.w"}])
    time.sleep(0.05)
    engine.delete_session(sid)
    reader.join(5)
    assert not reader.is_alive()
    assert [e.type for e in got] == ["a.x", "a.w"]


def test_subscribe_rejects_bad_input(engine: SessionManager) -> None:
    sid = engine.create_session()
    with pytest.raises(InvalidArgument):
        engine.subscribe_events(sid, after_seq=-1)
    with pytest.raises(SessionNotFound):
        engine.subscribe_events("01900000-0000-7000-8000-000000000000")


def test_grpc_subscribers_see_every_event_once_while_writers_run(
    rclient: SessionClient, replay_server: ServerProcess
) -> None:
    sid = rclient.create_session()
    rclient.append_events(sid, [{"type": "history"}] * 20)
    streams = [rclient.subscribe_events(sid, after_seq=after) for after in (0, 5, 21)]
    with ReplayClient(replay_server.address) as writer:
        writers = _writers(writer, sid, threads=3, per_thread=20)
        results = [_collect(stream, 81 - after) for stream, after in zip(streams, (0, 5, 21), strict=True)]
        for t in writers:
            t.join()
    for stream, events, after in zip(streams, results, (0, 5, 21), strict=True):
        stream.cancel()
        assert [e.seq for e in events] == list(range(after + 1, 82))


def test_grpc_commit_from_a_worker_thread_reaches_subscribers(rclient: SessionClient) -> None:
    sid = rclient.create_session()
    stream = rclient.subscribe_events(sid, after_seq=1)
    rclient.save_session(sid)  # the server commits session.saved from asyncio.to_thread
    events = _collect(stream, 1, timeout=10)
    stream.cancel()
    assert events[0].type == "session.saved"


def test_grpc_stream_ends_when_the_session_is_deleted(rclient: SessionClient) -> None:
    sid = rclient.create_session()
    stream = rclient.subscribe_events(sid)
    got: list = []
    reader = threading.Thread(target=lambda: got.extend(stream))
    reader.start()
    time.sleep(0.1)
    rclient.delete_session(sid)
    reader.join(10)
    assert not reader.is_alive()
    assert [e.type for e in got] == ["session.created"]


def test_async_client_subscription(replay_server: ServerProcess) -> None:
    async def scenario() -> list[int]:
        async with AsyncReplayClient(replay_server.address) as client:
            sid = await client.create_session()
            stream = client.subscribe_events(sid, types=["tick"])
            seqs: list[int] = []

            async def read() -> None:
                async for event in stream:
                    seqs.append(event.seq)
                    if len(seqs) == 5:
                        return

            reader = asyncio.create_task(read())
            for _ in range(5):
                await client.append_events(sid, [{"type": "tick"}])
            await asyncio.wait_for(reader, 10)
            stream.cancel()
            return seqs

    assert asyncio.run(scenario()) == [2, 3, 4, 5, 6]
