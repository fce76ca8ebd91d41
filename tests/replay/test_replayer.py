"""ReplaySession: the pure state machine by hand, the asyncio driver, and the bidi stream over gRPC."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.client import SessionClient
from llmspell_sessions.engine.replay import (
    ReplayControl,
    Replayer,
    ReplayFrame,
    ReplayMode,
    ReplayStart,
    ReplayStatus,
    drive_replay,
)
from llmspell_sessions.errors import CheckpointNotFound, InvalidArgument
from llmspell_sessions.model import Event

S = ReplayStatus
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _events(gaps: list[float]) -> list[Event]:
    times = [T0]
    for gap in gaps:
        times.append(times[-1] + timedelta(seconds=gap))
    kinds = ["state.changed" if i % 2 else "tool.call" for i in range(len(times))]
    return [
        Event("s", i + 1, kind, t, payload={"set": {"k": i}, "deleted": []} if kind == "state.changed" else {})
        for i, (t, kind) in enumerate(zip(times, kinds, strict=True))
    ]


def _run(replayer: Replayer, clock: float = 0.0) -> list[ReplayFrame]:
    frames = []
    while isinstance(step := replayer.next(clock), ReplayFrame):
        frames.append(step)
    return frames


def test_fast_mode_sends_everything_then_completed() -> None:
    frames = _run(Replayer(_events([1, 1, 1])))
    assert [(f.index, f.total, f.status) for f in frames] == [
        (1, 4, S.RUNNING),
        (2, 4, S.RUNNING),
        (3, 4, S.RUNNING),
        (4, 4, S.RUNNING),
        (4, 4, S.COMPLETED),
    ]
    assert frames[1].changed_keys == ["k"] and frames[0].changed_keys == []
    assert frames[-1].event is None


def test_breakpoints_hold_until_resume_or_step() -> None:
    replayer = Replayer(_events([1] * 5), breakpoint_seqs=[2], breakpoint_types=["nothing"])
    frames = _run(replayer)
    assert [(f.event.seq, f.status) for f in frames] == [(1, S.RUNNING), (2, S.AT_BREAKPOINT)]
    assert replayer.next(0) is None  # waits for a control
    replayer.apply(ReplayControl("step"), 0)
    assert [(f.event.seq, f.status) for f in _run(replayer)] == [(3, S.PAUSED)]
    replayer.apply(ReplayControl("add_breakpoint", event_type="tool.call"), 0)
    replayer.apply(ReplayControl("resume"), 0)
    assert [(f.event.seq, f.status) for f in _run(replayer)] == [(4, S.RUNNING), (5, S.AT_BREAKPOINT)]
    replayer.apply(ReplayControl("resume"), 0)
    assert [(f.event and f.event.seq, f.status) for f in _run(replayer)] == [
        (6, S.RUNNING),
        (None, S.COMPLETED),
    ]


def test_step_mode_sends_one_event_per_step_and_stop_ends_it() -> None:
    replayer = Replayer(_events([1] * 4), mode=ReplayMode.STEP)
    assert replayer.next(0) is None
    replayer.apply(ReplayControl("step"), 0)
    replayer.apply(ReplayControl("step"), 0)
    assert [(f.index, f.status) for f in _run(replayer)] == [(1, S.PAUSED), (2, S.PAUSED)]
    replayer.apply(ReplayControl("stop"), 0)
    final = replayer.next(0)
    assert isinstance(final, ReplayFrame) and final.status == S.STOPPED and final.index == 2
    assert replayer.finished and replayer.next(0) is None


def test_a_stop_that_races_the_last_step_still_completes() -> None:
    replayer = Replayer(_events([1]), mode=ReplayMode.STEP)
    replayer.apply(ReplayControl("step"), 0)
    replayer.apply(ReplayControl("step"), 0)
    sent = [replayer.next(0), replayer.next(0)]
    assert [(f.index, f.status) for f in sent if isinstance(f, ReplayFrame)] == [(1, S.PAUSED), (2, S.PAUSED)]
    replayer.apply(ReplayControl("stop"), 0)  # arrives before the driver asks for the frame after the last
    final = replayer.next(0)
    assert isinstance(final, ReplayFrame) and (final.index, final.status) == (2, S.COMPLETED)


def test_timed_mode_waits_the_gaps_divided_by_speed() -> None:
    replayer = Replayer(_events([2.0, 4.0]), mode=ReplayMode.TIMED, speed=2.0)
    first = replayer.next(100.0)
    assert isinstance(first, ReplayFrame) and first.index == 1
    assert replayer.next(100.0) == pytest.approx(1.0)
    assert isinstance(replayer.next(101.0), ReplayFrame)
    replayer.apply(ReplayControl("set_speed", speed=4.0), 101.0)
    assert replayer.next(101.0) == pytest.approx(1.0)
    replayer.apply(ReplayControl("pause"), 101.5)
    assert replayer.next(103.0) is None
    replayer.apply(ReplayControl("resume"), 110.0)  # the gap counts again from the resume
    assert replayer.next(110.5) == pytest.approx(0.5)
    assert isinstance(replayer.next(111.0), ReplayFrame)


@pytest.mark.parametrize(
    "control",
    [
        ReplayControl("set_speed", speed=0.05),
        ReplayControl("set_speed", speed=11),
        ReplayControl("add_breakpoint"),
        ReplayControl("rewind"),
    ],
)
def test_bad_controls_are_invalid(control: ReplayControl) -> None:
    with pytest.raises(InvalidArgument):
        Replayer(_events([1])).apply(control, 0)


def test_driver_applies_controls_while_running() -> None:
    async def scenario() -> list[ReplayFrame]:
        queue: asyncio.Queue[ReplayControl | None] = asyncio.Queue()

        async def controls() -> AsyncIterator[ReplayControl]:
            while (control := await queue.get()) is not None:
                yield control

        replayer = Replayer(_events([0.02] * 50), mode=ReplayMode.TIMED, speed=1.0)
        frames = []
        async for frame in drive_replay(replayer, controls()):
            frames.append(frame)
            if frame.index == 3 and frame.event is not None:
                queue.put_nowait(ReplayControl("stop"))
        return frames

    frames = asyncio.run(scenario())
    assert frames[-1].status == S.STOPPED and 3 <= frames[-1].index <= 4


def test_driver_stops_a_waiting_replay_when_controls_end() -> None:
    async def no_controls() -> AsyncIterator[ReplayControl]:
        return
        yield

    async def scenario() -> list[ReplayFrame]:
        return [f async for f in drive_replay(Replayer(_events([1]), mode=ReplayMode.STEP), no_controls())]

    assert [f.status for f in asyncio.run(scenario())] == [S.STOPPED]


def test_engine_replay_range_filters_and_never_writes(engine: SessionManager) -> None:
    sid = engine.create_session()
    engine.append_events(sid, [{"type": f"t.{i % 2}"} for i in range(10)])
    checkpoint = engine.create_checkpoint(sid)
    engine.append_events(sid, [{"type": "t.0"}] * 3)
    replayer = engine.open_replay(ReplayStart(sid, from_seq=3, to_seq=8, types=["t.0"]))
    assert [e.seq for e in replayer.events] == [4, 6, 8]
    replayer = engine.open_replay(ReplayStart(sid, checkpoint_id=checkpoint.checkpoint_id))
    assert [e.seq for e in replayer.events] == [13, 14, 15]
    _run(replayer)
    assert engine.get_session(sid).last_event_seq == 15
    for start in (
        ReplayStart(sid, speed=20),
        ReplayStart(sid, from_seq=5, to_seq=2),
        ReplayStart(sid, breakpoint_seqs=[0]),
        ReplayStart(sid, mode=9),  # type: ignore[arg-type]
        ReplayStart(sid, from_seq=1, checkpoint_id=checkpoint.checkpoint_id),
    ):
        with pytest.raises(InvalidArgument):
            engine.open_replay(start)
    with pytest.raises(CheckpointNotFound):
        engine.open_replay(ReplayStart(sid, checkpoint_id="01900000-0000-7000-8000-000000000000"))


def _grpc_session(client: SessionClient, events: int) -> str:
    sid = client.create_session()
    client.append_events(sid, [{"type": "tool.call", "payload": {"i": i}} for i in range(events)])
    return sid


def test_grpc_fast_replay_with_breakpoint_step_and_resume(rclient: SessionClient) -> None:
    sid = _grpc_session(rclient, 6)
    before = rclient.get_session(sid)
    replay = rclient.replay_session(ReplayStart(sid, mode=ReplayMode.FAST, breakpoint_seqs=[3]))
    seen = []
    for frame in replay:
        seen.append((frame.event.seq if frame.event else None, frame.status))
        if frame.status == S.AT_BREAKPOINT:
            replay.step()
        elif frame.status == S.PAUSED:
            replay.resume()
    assert seen == [
        (1, S.RUNNING),
        (2, S.RUNNING),
        (3, S.AT_BREAKPOINT),
        (4, S.PAUSED),
        (5, S.RUNNING),
        (6, S.RUNNING),
        (7, S.RUNNING),
        (None, S.COMPLETED),
    ]
    assert rclient.get_session(sid).etag == before.etag  # replay never writes


def test_grpc_step_mode_and_stop(rclient: SessionClient) -> None:
    sid = _grpc_session(rclient, 5)
    replay = rclient.replay_session(ReplayStart(sid, mode=ReplayMode.STEP, from_seq=2))
    replay.step()
    frames = []
    for frame in replay:
        frames.append(frame)
        if frame.event is not None and frame.index < 2:
            replay.step()
        elif frame.event is not None:
            replay.stop()
    assert [(f.index, f.total, f.status) for f in frames] == [
        (1, 5, S.PAUSED),
        (2, 5, S.PAUSED),
        (2, 5, S.STOPPED),
    ]


def test_grpc_timed_replay_follows_the_original_gaps(rclient: SessionClient) -> None:
    sid = rclient.create_session()
    for _ in range(3):
        time.sleep(0.2)
        rclient.append_events(sid, [{"type": "tick"}])
    started = time.monotonic()
    frames = list(rclient.replay_session(ReplayStart(sid, from_seq=2, mode=ReplayMode.TIMED, speed=2.0)))
    elapsed = time.monotonic() - started
    assert [f.status for f in frames][-1] == S.COMPLETED and len(frames) == 4
    assert 0.15 <= elapsed < 1.5  # two gaps of ~0.2 s at speed 2


def test_grpc_pause_holds_frames_and_bad_start_is_invalid(rclient: SessionClient) -> None:
    sid = rclient.create_session()
    for _ in range(4):
        time.sleep(0.05)
        rclient.append_events(sid, [{"type": "tick"}])
    replay = rclient.replay_session(ReplayStart(sid, mode=ReplayMode.TIMED, speed=1.0))
    iterator = iter(replay)
    first = next(iterator)
    replay.pause()
    replay.set_speed(10)
    time.sleep(0.4)
    paused_at = time.monotonic()
    replay.resume()
    rest = list(iterator)
    assert first.index == 1 and rest[-1].status == S.COMPLETED and len(rest) == 5
    assert time.monotonic() - paused_at < 1.0
    with pytest.raises(InvalidArgument):
        list(rclient.replay_session(ReplayStart(sid, speed=50)))
    with pytest.raises(InvalidArgument):
        list(rclient.replay_session(ReplayStart("not-a-session")))
