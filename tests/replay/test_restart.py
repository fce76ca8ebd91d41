"""A crash in the middle of history writes: the log stays gapless and replays to exactly the records."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import orjson
from llmspell_sessions import SessionManager
from llmspell_sessions.engine.codec import decode_session
from llmspell_sessions.errors import LlmspellError
from llmspell_sessions.storage import keys

from tests.helpers.consistency import check_store, store_settings
from tests.replay.conftest import ReplayClient


def check_history(path: Path, tenant: str = "default") -> int:
    """Asserts that every session's log replays to its current record, state and artifacts."""
    with SessionManager(**store_settings(path), start_sweeper=False) as engine:
        count = 0
        for skey, raw in engine._storage.scan("sessions", keys.tenant_prefix(tenant)):
            record = decode_session(raw)
            replayed = engine._p.timetravel.materialise(skey, record.session_id, record.last_event_seq)
            assert replayed.session is not None
            for name in (
                "name",
                "tags",
                "state",
                "artifact_count",
                "artifact_bytes",
                "last_event_seq",
                "update_time",
            ):
                assert getattr(replayed.session, name) == getattr(record, name), (record.session_id, name)
            state = engine._p.state.read_state(skey, record)  # a decoded record: read from the store
            assert orjson.dumps(replayed.state, option=orjson.OPT_SORT_KEYS) == orjson.dumps(
                state, option=orjson.OPT_SORT_KEYS
            )
            assert set(replayed.artifacts) == {
                r.artifact.artifact_id for r in engine._p.artifacts.session_records(skey) if r.live
            }
            count += 1
        return count


def test_kill_in_the_middle_keeps_the_log_consistent(replay_server_factory, tmp_path: Path) -> None:
    path = tmp_path / "store"
    server = replay_server_factory(path)
    with ReplayClient(server.address) as client:
        sessions = [client.create_session(name=f"crash{i}") for i in range(3)]
    stop = threading.Event()
    unexpected: list[LlmspellError] = []

    def write(worker: int) -> None:
        with ReplayClient(server.address, timeout=5) as own:
            n = 0
            while not stop.is_set():
                sid = sessions[(worker + n) % len(sessions)]
                try:
                    own.append_events(sid, [{"type": "w", "payload": {"n": n}}] * (1 + n % 4))
                    own.set_session_state(sid, {f"w{worker}": n})
                    if n % 5 == 0:
                        own.store_artifact(sid, f"out{worker}", f"{worker}-{n}".encode())
                    if n % 9 == 4:
                        own.rewind_session(sid, to_seq=max(1, n))
                    if n % 11 == 3:
                        own.create_checkpoint(sid, "w")
                except LlmspellError as error:
                    if error.code not in ("UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED", "UNKNOWN"):
                        unexpected.append(error)
                    return  # the server went away
                n += 1

    writers = [threading.Thread(target=write, args=(w,)) for w in range(3)]
    for t in writers:
        t.start()
    time.sleep(1.0)
    server.kill()
    stop.set()
    for t in writers:
        t.join(10)
    assert not unexpected
    counts = check_store(path)
    assert counts == {"ACTIVE": 3}
    assert check_history(path) == 3
    server.start()  # the log goes on from where it stopped
    with ReplayClient(server.address) as client:
        last = client.get_session(sessions[0]).last_event_seq
        assert last > 20  # the crash came in the middle of the writing
        assert client.append_events(sessions[0], [{"type": "after.restart"}])[0].seq == last + 1
        assert client.get_snapshot(sessions[0], last).seq == last
    server.terminate()
    check_store(path)
    assert check_history(path) == 3
