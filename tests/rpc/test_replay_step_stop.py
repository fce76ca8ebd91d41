"""STEP replay, then stop(): the final frame always comes, and a blocking client can always exit.

A process that ended right after such a replay used to hang about once in twenty exits: gRPC's
daemon thread that sends the controls could be stopped by the exit while holding the call's lock,
which the call's __del__ then waited for forever.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from llmspell_sessions.client import SessionClient
from llmspell_sessions.model import ReplayMode, ReplayStart, ReplayStatus

from tests.helpers.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys
from llmspell_sessions.client import SessionClient
from llmspell_sessions.model import ReplayMode, ReplayStart
with SessionClient(sys.argv[1]) as client:
    replay = client.replay_session(ReplayStart(sys.argv[2], mode=ReplayMode.STEP, types=["tool."]))
    replay.step()
    for frame in replay:
        if frame.event is None:
            break
        replay.step() if frame.index < frame.total else replay.stop()
print("exited")
"""


@pytest.fixture(scope="module")
def recorded(shared_server: ServerProcess) -> str:
    with SessionClient(shared_server.address) as client:
        sid = client.create_session(name="step-stop")
        client.append_events(sid, [{"type": f"tool.{k}", "payload": {"i": i}} for i in range(2) for k in "ab"])
        return sid


def _step_then_stop(client: SessionClient, sid: str) -> tuple[int, ReplayStatus]:
    replay = client.replay_session(ReplayStart(sid, mode=ReplayMode.STEP, types=["tool."]))
    replay.step()
    steps, final = 0, None
    for frame in replay:
        if frame.event is None:
            final = frame.status
            break
        steps += 1
        replay.step() if frame.index < frame.total else replay.stop()
    assert final is not None, "the stream closed without a final frame"
    assert replay.call is None  # released as the iteration ended, not left to the final garbage collection
    return steps, final


def _run_into(result: list[tuple[int, ReplayStatus]], client: SessionClient, sid: str) -> None:
    result.append(_step_then_stop(client, sid))


def test_step_then_stop_two_hundred_times(shared_server: ServerProcess, recorded: str) -> None:
    with SessionClient(shared_server.address, timeout=10) as client:
        for run in range(200):
            result: list[tuple[int, ReplayStatus]] = []
            worker = threading.Thread(target=_run_into, args=(result, client, recorded), daemon=True)
            worker.start()
            worker.join(10)
            assert result, f"run {run}: no final frame within 10 s"
            steps, status = result[0]
            assert steps == 4 and status in (ReplayStatus.COMPLETED, ReplayStatus.STOPPED)


@pytest.mark.slow
def test_processes_exit_after_step_then_stop(shared_server: ServerProcess, recorded: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "server")}
    for batch in range(10):  # 40 exits: the old race hung about one in twenty
        runs = [
            subprocess.Popen(
                [sys.executable, "-c", SCRIPT, shared_server.address, recorded],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        for run in runs:
            try:
                out, _ = run.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                run.kill()
                pytest.fail(f"batch {batch}: a client process hung at exit after step-then-stop")
            assert run.returncode == 0 and "exited" in out
