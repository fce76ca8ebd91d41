"""A server killed (SIGKILL) mid-commit on a shared PostgreSQL store leaves nothing partial.

Writers keep one server busy with appends, state changes and artifacts while a second server over
the same database serves the same sessions; the first is killed. Every acknowledged write must be
there, every log gapless and matching its session record, and the store checker must pass.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from llmspell_sessions.check import check_storage, format_report
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import LlmspellError
from llmspell_sessions.storage.postgres import PostgresStorage

from tests.helpers.server import ServerProcess

pytestmark = pytest.mark.slow


def test_a_server_killed_mid_commit_leaves_every_log_whole(
    server_factory: Callable[..., ServerProcess], postgres_dsn: str, tmp_path: Path
) -> None:
    args = ["--postgres-dsn", postgres_dsn]
    victim = server_factory(backend="postgres", args=args, path=tmp_path / "victim")
    survivor = server_factory(backend="postgres", args=args, path=tmp_path / "survivor")
    acknowledged: dict[str, list[int]] = {}
    states: dict[str, int] = {}
    stop = threading.Event()

    def write(n: int) -> None:
        with SessionClient(victim.address) as client:
            session_id = client.create_session(name=f"w{n}")
            acknowledged[session_id] = []
            i = 0
            while not stop.is_set():
                i += 1
                try:
                    if i % 5 == 0:
                        client.set_session_state(session_id, {"i": i})
                        states[session_id] = i
                    elif i % 7 == 0:
                        client.store_artifact(session_id, f"out-{i}", bytes([i % 256]) * 20_000)
                    else:
                        events = client.append_events(session_id, [{"type": "agent.step", "payload": {"i": i}}])
                        acknowledged[session_id].append(events[0].seq)
                except LlmspellError:
                    return  # the server died under this call: its outcome is unknown, so not counted

    writers = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for writer in writers:
        writer.start()
    time.sleep(2.0)
    victim.kill()
    stop.set()
    for writer in writers:
        writer.join(20)
    assert sum(len(seqs) for seqs in acknowledged.values()) > 20  # the kill did land mid-load

    with SessionClient(survivor.address) as client:
        for session_id, seqs in acknowledged.items():
            logged = client.list_events(session_id, page_size=1000).items
            assert [e.seq for e in logged] == list(range(1, len(logged) + 1))  # gapless
            assert set(seqs) <= {e.seq for e in logged}  # every acknowledged append is there
            assert client.get_session(session_id).last_event_seq == logged[-1].seq
            if session_id in states:
                assert client.get_session_state(session_id)["i"] >= states[session_id]
            # and the survivor can go on writing where the dead server stopped
            appended = client.append_events(session_id, [{"type": "agent.step", "payload": {}}])
            assert appended[0].seq == logged[-1].seq + 1

    storage = PostgresStorage(postgres_dsn)
    try:
        report = check_storage(storage, tmp_path / "victim" / "segments", name=postgres_dsn)
        assert report.ok, format_report(report)
    finally:
        storage.close()
