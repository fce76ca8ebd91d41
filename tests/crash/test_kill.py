"""SIGKILL the real server during a burst of writes: no acknowledged write lost, nothing half-written."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import LlmspellError

from tests.helpers.consistency import check_store_command
from tests.helpers.server import ServerProcess

pytestmark = pytest.mark.slow


def _writer(address: str, acked: list[tuple[str, int]], stop: threading.Event) -> None:
    """Creates sessions and bumps a counter in each; records every write the server acknowledged."""
    with SessionClient(address, timeout=5) as c:
        while not stop.is_set():
            try:
                sid = c.create_session(name="burst", tags=["crash"])
                acked.append((sid, 0))
                for n in range(1, 4):
                    c.set_session_state(sid, {"n": n, "blob": "x" * 2000})
                    acked.append((sid, n))
            except LlmspellError:
                return  # the server is gone


@pytest.mark.parametrize("round_", range(2))
def test_sigkill_during_writes_loses_no_acknowledged_write(
    server_factory: Callable[..., ServerProcess], round_: int
) -> None:
    server = server_factory(env={"LLMSPELL_SESSION_MAX_SESSIONS": "100000"})
    acked: list[tuple[str, int]] = []
    stop = threading.Event()
    writers = [threading.Thread(target=_writer, args=(server.address, acked, stop)) for _ in range(4)]
    for w in writers:
        w.start()
    time.sleep(1.5 + round_)
    server.kill()
    stop.set()
    for w in writers:
        w.join(10)
    assert len(acked) > 50, "the burst should have written something before the kill"
    counts = check_store_command(server.path)
    highest: dict[str, int] = {}
    for sid, n in acked:
        highest[sid] = max(highest.get(sid, 0), n)
    server.start()
    with SessionClient(server.address) as c:
        for sid, n in highest.items():
            state = c.get_session_state(sid)
            assert state.get("n", 0) >= n, (sid, n, state)
        listed = c.list_sessions(tags=["crash"], page_size=1).total_size
    assert listed == sum(counts.values()) >= len(highest)
