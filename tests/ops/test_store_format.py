"""Store format versions: a store written by this release (tests/fixtures/store-v1) reads back the
same; a newer format is refused; an older one waits for `migrate`; records skip appended fields."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
from blake3 import blake3
from llmspell_sessions import SessionManager
from llmspell_sessions.check import check_store
from llmspell_sessions.engine import store_format
from llmspell_sessions.engine.codec import decode_event, encode_event
from llmspell_sessions.engine.store_format import STORE_FORMAT, Migration, StoreFormatError
from llmspell_sessions.model import Caller, Event, Role, SessionState
from llmspell_sessions.storage import WriteBatch, keys
from llmspell_sessions.storage.rocksdb import RocksDBStorage

from tests.fixtures.make_store import NOTE, SHARED

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "store-v1"
ACME = Caller(tenant="acme", subject="alice", role=Role.ADMIN)
BETA = Caller(tenant="beta", subject="bob", role=Role.WRITER)


@pytest.fixture
def fixture_copy(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    shutil.copytree(FIXTURE, path)
    return path


def _set_format(path: Path, version: int) -> None:
    storage = RocksDBStorage(str(path))
    batch = WriteBatch()
    batch.put("session_index", keys.FORMAT_KEY, orjson.dumps({"format": version}))
    storage.write(batch, sync=True)
    storage.close()


def test_the_v1_fixture_reads_back_as_written(fixture_copy: Path) -> None:
    with SessionManager(storage_path=str(fixture_copy), start_sweeper=False) as m:
        sessions = {s.name: s for s in m.list_sessions(page_size=100, caller=ACME).items}
        assert set(sessions) == {"fixture-main", "fixture-fork"}
        main, fork = sessions["fixture-main"], sessions["fixture-fork"]
        assert (main.tags, main.metadata, main.state) == (
            ["fixture", "v1"],
            {"agent": "planner", "n": 1},
            SessionState.ACTIVE,
        )
        assert main.grants == {"carol": "read"} and fork.state == SessionState.COMPLETED
        assert fork.parent_session_id == main.session_id
        assert m.get_session_state(main.session_id, caller=ACME) == {"goal": "coffee", "steps": [1, 2, 3]}
        assert m.get_session_state(fork.session_id, caller=ACME)["nested"] == {"a": None}
        events = m.list_events(main.session_id, page_size=100, caller=ACME).items
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert events[0].type == "session.created" and any(e.type == "tool.call" for e in events)
        notes = m.get_artifact_info(session_id=main.session_id, name="notes.md", version=1, caller=ACME)
        assert m.get_artifact(main.session_id, notes.artifact_id, caller=ACME)[1] == NOTE
        latest, data = m.get_artifact(main.session_id, name="notes.md", caller=ACME)
        assert (latest.version, data) == (2, NOTE + b" v2")
        table, data = m.get_artifact(main.session_id, name="table.bin", caller=ACME)
        assert data == SHARED and table.content_digest == blake3(SHARED).hexdigest() and table.compressed
        [checkpoint] = m.list_checkpoints(main.session_id, caller=ACME).items
        assert checkpoint.label == "before-fork"
        assert m.get_snapshot(main.session_id, at_seq=checkpoint.seq, caller=ACME).state["goal"] == "tea"
        [beta] = m.list_sessions(caller=BETA).items
        assert m.get_artifact(beta.session_id, name="same.bin", caller=BETA)[1] == SHARED
        assert store_format.stored_format(m._storage) == STORE_FORMAT  # type: ignore[attr-defined]
    report = check_store(str(fixture_copy))
    assert report.ok, report.problems


def test_a_new_store_records_the_current_format(tmp_path: Path) -> None:
    with SessionManager(storage_path=str(tmp_path / "s"), start_sweeper=False) as m:
        assert store_format.stored_format(m._storage) == STORE_FORMAT  # type: ignore[attr-defined]
    assert check_store(str(tmp_path / "s")).ok


def test_a_newer_format_is_refused_and_the_store_left_as_it_was(fixture_copy: Path) -> None:
    _set_format(fixture_copy, STORE_FORMAT + 1)
    with pytest.raises(StoreFormatError, match="newer than this server's") as caught:
        SessionManager(storage_path=str(fixture_copy), start_sweeper=False)
    assert caught.value.reason == "STORE_FORMAT"
    served = subprocess.run(
        [sys.executable, "-m", "llmspell_sessions", "serve", "--address", "127.0.0.1:0", "--path", str(fixture_copy)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert served.returncode == 1
    assert f"format {STORE_FORMAT + 1}, newer than this server's" in served.stderr
    assert "Traceback" not in served.stderr
    storage = RocksDBStorage(str(fixture_copy))
    assert store_format.stored_format(storage) == STORE_FORMAT + 1  # nothing rewritten
    storage.close()
    assert not check_store(str(fixture_copy)).ok  # the checker names the format it cannot read


def test_an_older_format_waits_for_migrate_which_runs_each_step(
    fixture_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran: list[int] = []
    steps = {
        STORE_FORMAT: Migration(STORE_FORMAT, "first step", lambda storage: ran.append(STORE_FORMAT)),
        STORE_FORMAT + 1: Migration(STORE_FORMAT + 1, "second step", lambda storage: ran.append(STORE_FORMAT + 1)),
    }
    monkeypatch.setattr(store_format, "MIGRATIONS", steps)
    monkeypatch.setattr(store_format, "STORE_FORMAT", STORE_FORMAT + 2)
    with pytest.raises(StoreFormatError, match="llmspell-sessions migrate"):
        SessionManager(storage_path=str(fixture_copy), start_sweeper=False)
    storage = RocksDBStorage(str(fixture_copy))
    assert [s.description for s in store_format.plan(storage)] == ["first step", "second step"]
    assert ran == []  # a plan is a dry run
    store_format.migrate(storage)
    assert ran == [STORE_FORMAT, STORE_FORMAT + 1]
    assert store_format.stored_format(storage) == STORE_FORMAT + 2 and store_format.plan(storage) == []
    storage.close()
    with SessionManager(storage_path=str(fixture_copy), start_sweeper=False) as m:
        assert len(m.list_sessions(caller=ACME).items) == 2


def test_records_skip_fields_a_later_version_appended() -> None:
    event = Event("s", 7, "tool.call", datetime(2026, 1, 1, tzinfo=UTC), payload={"k": 1})
    newer = orjson.dumps([*orjson.loads(encode_event(event)), "a field from the future"])
    decoded = decode_event("s", newer)
    assert (decoded.seq, decoded.type, decoded.payload) == (7, "tool.call", {"k": 1})


def test_migrate_refuses_a_path_that_holds_no_store(tmp_path: Path) -> None:
    missing = tmp_path / "typo"
    done = subprocess.run(
        [sys.executable, "-m", "llmspell_sessions", "migrate", "--path", str(missing), "--dry-run"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2 and "no store at" in done.stderr
    assert not missing.exists()  # no empty store was created there
