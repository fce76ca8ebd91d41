"""Small writes run inline on the server's event loop only when that cannot wait (rpc/execution.py):
the gate, and inline writes beside pool work (durable saves, failures) on a real server."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import SessionNotFound
from llmspell_sessions.storage.postgres import PostgresStorage

from tests.helpers.server import ServerProcess


class _Recorder:
    def after(self, context: object, event: object) -> None:
        pass


def test_the_gate_gives_a_transaction_only_without_hooks(manager: SessionManager, tmp_path: Path) -> None:
    held = manager.inline_transaction()
    if isinstance(manager._storage, PostgresStorage):  # noqa: SLF001 - the backend decides
        assert held is None  # network round trips: never on an event loop
        return
    assert held is not None
    with held:  # another thread is refused while it is held
        seen: list[object] = []
        thread = threading.Thread(target=lambda: seen.append(manager.inline_transaction()))
        thread.start()
        thread.join()
        assert seen == [None]
    with SessionManager(storage_backend="memory", hooks=[_Recorder()], start_sweeper=False) as hooked:
        assert hooked.inline_transaction() is None  # hooks are user code: maybe slow, so the pool


def test_inline_writes_beside_durable_saves_and_failures(server_factory: Callable[..., ServerProcess]) -> None:
    """Writers that run inline, durable saves on the pool and failing writes, at once: every call
    answers, no lock is left held, and each session's log is gapless with every write in it."""
    unlimited = {"LLMSPELL_SESSION_RATE_LIMIT_GLOBAL": "0", "LLMSPELL_SESSION_RATE_LIMIT_PER_SESSION": "0"}
    server = server_factory(env=unlimited)
    rounds = 60
    errors: list[BaseException] = []
    with SessionClient(server.address) as setup:
        sessions = [setup.create_session(name=f"w{i}") for i in range(3)]

    def writer(session_id: str) -> None:
        try:
            with SessionClient(server.address) as c:
                for n in range(rounds):
                    c.set_session_state(session_id, {"n": n})
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    def saver(session_id: str) -> None:  # SaveSession over gRPC is durable: an fsync, on the pool
        try:
            with SessionClient(server.address) as c:
                for _ in range(rounds // 3):
                    c.save_session(session_id)
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    def failer() -> None:
        try:
            with SessionClient(server.address) as c:
                for _ in range(rounds):
                    with pytest.raises(SessionNotFound):  # NOT_FOUND, raised inside the inline transaction
                        c.set_session_state("00000000-0000-7000-8000-000000000000", {"x": 1})
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(s,)) for s in sessions]
    threads += [threading.Thread(target=saver, args=(sessions[0],)), threading.Thread(target=failer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(t.is_alive() for t in threads)
    assert errors == []
    with SessionClient(server.address) as c:
        for session_id in sessions:
            assert c.get_session_state(session_id) == {"n": rounds - 1}
            events = c.list_events(session_id, page_size=1000).items
            seqs = [e.seq for e in events]
            assert seqs == list(range(1, len(seqs) + 1))
            assert sum(e.type == "state.changed" for e in events) == rounds
        saved = [e for e in c.list_events(sessions[0], page_size=1000).items if e.type == "session.saved"]
        assert len(saved) == rounds // 3
