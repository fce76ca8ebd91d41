"""The embedded engine on both backends: limits, timeouts, events in the same batch, caching."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from llmspell_sessions import Caller, Role, SessionManager, SessionState
from llmspell_sessions.engine.codec import decode_event
from llmspell_sessions.errors import AccessDenied, ResourceExhausted, SessionNotFound
from llmspell_sessions.storage import keys


def _events(manager: SessionManager, sid: str, tenant: str = "default") -> list[str]:
    skey = keys.session_key(tenant, sid)
    return [decode_event(sid, v).type for k, v in manager._storage.scan("events", skey) if len(k) == len(skey) + 8]


def test_every_mutation_appends_one_event(manager: SessionManager) -> None:
    sid = manager.create_session(name="e")
    manager.update_session(sid, name="f")
    manager.set_session_state(sid, {"a": 1})
    manager.suspend_session(sid)
    manager.resume_session(sid)
    manager.save_session(sid, durable=False)
    manager.complete_session(sid)
    manager.archive_session(sid)
    assert _events(manager, sid) == [
        "session.created",
        "session.updated",
        "state.changed",
        "session.suspended",
        "session.resumed",
        "session.saved",
        "session.completed",
        "session.archived",
    ]
    assert manager.get_session(sid).last_event_seq == 8


def test_first_load_in_a_process_is_recorded_once(manager: SessionManager) -> None:
    sid = manager.create_session()
    manager.load_session(sid)
    manager.load_session(sid)
    assert _events(manager, sid) == ["session.created", "session.loaded"]


def test_max_active_sessions(tmp_path: Path) -> None:
    with SessionManager(storage_backend="memory", max_sessions=3) as m:
        ids = [m.create_session() for _ in range(3)]
        with pytest.raises(ResourceExhausted) as caught:
            m.create_session()
        assert caught.value.metadata["limit"] == "max_sessions"
        assert "session bulk complete" in caught.value.message  # the way out, named
        m.suspend_session(ids[0])
        fourth = m.create_session()  # suspended sessions do not count
        with pytest.raises(ResourceExhausted):
            m.resume_session(ids[0])
        m.complete_session(fourth)
        assert m.resume_session(ids[0]).state == SessionState.ACTIVE


def test_idle_timeout_suspends_and_lifetime_fails(tmp_path: Path) -> None:
    config = {"storage_backend": "memory", "idle_timeout": 0.3, "session_timeout": 60, "sweep_interval": 0.05}
    with SessionManager(**config) as m:
        idle = m.create_session()
        busy = m.create_session()
        for _ in range(6):
            time.sleep(0.1)
            m.set_session_state(busy, {"tick": 1})
        assert m.get_session(idle).state == SessionState.SUSPENDED
        assert m.get_session(busy).state == SessionState.ACTIVE
        assert _events(m, idle)[-1] == "session.suspended"
    with SessionManager(storage_backend="memory", idle_timeout=0, session_timeout=0.3, sweep_interval=0.05) as m:
        sid = m.create_session()
        deadline = m.get_session(sid).expire_time
        assert deadline is not None
        time.sleep(0.6)
        session = m.get_session(sid)
        assert (session.state, session.failure_reason) == (SessionState.FAILED, "timeout")


def test_timeout_enforced_on_access_without_sweeper() -> None:
    with SessionManager(storage_backend="memory", idle_timeout=0.1, start_sweeper=False) as m:
        sid = m.create_session()
        time.sleep(0.2)
        session = m.get_session(sid)
        assert session.state == SessionState.SUSPENDED
        assert _events(m, sid) == ["session.created", "session.suspended"]


def test_tenants_never_see_each_other(manager: SessionManager) -> None:
    alice = Caller(tenant="alice", subject="a")
    bob = Caller(tenant="bob", subject="b")
    sid = manager.create_session(name="secret", caller=alice)
    with pytest.raises(SessionNotFound):
        manager.get_session(sid, caller=bob)
    with pytest.raises(SessionNotFound):
        manager.delete_session(sid, caller=bob)
    assert manager.list_sessions(caller=bob).items == []
    assert [s.session_id for s in manager.list_sessions(caller=alice).items] == [sid]


def test_reader_cannot_write(manager: SessionManager) -> None:
    reader = Caller(subject="r", role=Role.READER)
    sid = manager.create_session()
    manager.grant_session_access(sid, "r", "write")
    assert manager.get_session(sid, caller=reader).session_id == sid
    with pytest.raises(AccessDenied):
        manager.create_session(caller=reader)
    with pytest.raises(AccessDenied):
        manager.set_session_state(sid, {"a": 1}, caller=reader)


def test_returned_records_are_copies(manager: SessionManager) -> None:
    sid = manager.create_session(tags=["a"])
    got = manager.get_session(sid)
    got.tags.append("mutated")
    got.state = SessionState.FAILED
    again = manager.get_session(sid)
    assert again.tags == ["a"] and again.state == SessionState.ACTIVE


def test_loads_see_every_kind_of_state_write(manager: SessionManager) -> None:
    """Loads are served from a cache of whole states: each path that writes state must be seen."""
    sid = manager.create_session()
    assert manager.load_session(sid).state == {}
    manager.set_session_state(sid, {"a": 1, "b": [1, 2]})
    loaded = manager.load_session(sid)
    assert loaded.state == {"a": 1, "b": [1, 2]}
    loaded.state["b"].append(3)  # a caller's copy: the next load is unchanged
    assert manager.load_session(sid).state == {"a": 1, "b": [1, 2]}
    assert manager.get_session_state(sid) == {"a": 1, "b": [1, 2]}
    seq = manager.get_session(sid).last_event_seq
    manager.apply_changes(sid, {"c": "x"}, delete_keys=["a"])
    assert manager.load_session(sid).state == {"b": [1, 2], "c": "x"}
    manager.rewind_session(sid, to_seq=seq)
    assert manager.load_session(sid).state == {"a": 1, "b": [1, 2]}
    child = manager.fork_session(sid, at_seq=seq - 1)
    assert manager.load_session(child.session_id).state == {}
    archive = io.BytesIO()
    manager.export_sessions([sid], archive)
    manager.set_session_state(sid, {"a": 2})
    assert manager.load_session(sid).state["a"] == 2
    manager.delete_session(sid)
    with pytest.raises(SessionNotFound):
        manager.load_session(sid)
    archive.seek(0)
    manager.import_sessions(archive)
    assert manager.load_session(sid).state == {"a": 1, "b": [1, 2]}  # as exported, not as cached


def test_cached_states_are_bounded_by_the_record_cache(tmp_path: Path) -> None:
    """Every cached state keeps its record alive: no more are held than records are cached."""
    with SessionManager(storage_path=str(tmp_path / "db"), session_cache_size=3) as m:
        ids = [m.create_session() for _ in range(10)]
        for i, sid in enumerate(ids):
            m.set_session_state(sid, {"i": i})
        for _ in range(2):
            assert [m.load_session(sid).state for sid in ids] == [{"i": i} for i in range(10)]
        assert len(m._p.state._cache._entries) <= 3


def test_a_reopened_store_loads_the_state_it_holds(tmp_path: Path) -> None:
    path = str(tmp_path / "db")
    with SessionManager(storage_path=path) as m:
        sid = m.create_session()
        m.set_session_state(sid, {"k": 1})
        assert m.load_session(sid).state == {"k": 1}
    with SessionManager(storage_path=path) as m:
        assert m.load_session(sid).state == {"k": 1}
        m.set_session_state(sid, {"k": 2})
        assert m.load_session(sid).state == {"k": 2}


def test_reopen_after_cache_eviction_reads_the_store(tmp_path: Path) -> None:
    with SessionManager(storage_path=str(tmp_path / "db"), session_cache_size=2) as m:
        ids = [m.create_session(name=f"s{i}") for i in range(5)]
        assert [m.get_session(i).name for i in ids] == [f"s{i}" for i in range(5)]
    with SessionManager(storage_path=str(tmp_path / "db")) as m:
        assert m.list_sessions().total_size == 5
        assert m.active_sessions("default") == 5


def test_sessions_belong_to_their_owner_until_an_admin_grants_access(
    manager: SessionManager, caplog: pytest.LogCaptureFixture
) -> None:
    owner, other = Caller(subject="owner", role=Role.WRITER), Caller(subject="other", role=Role.WRITER)
    sid = manager.create_session(name="private", caller=owner)
    mine = manager.create_session(name="other's own", caller=other)
    with pytest.raises(AccessDenied):
        manager.get_session(sid, caller=other)
    assert [s.session_id for s in manager.list_sessions(caller=other).items] == [mine]
    assert manager.list_sessions(caller=other).total_size == 1
    manager.grant_session_access(sid, "other", "read")
    assert manager.get_session(sid, caller=other).grants == {"other": "read"}
    with pytest.raises(AccessDenied):
        manager.set_session_state(sid, {"k": 1}, caller=other)
    manager.grant_session_access(sid, "other", "write")
    manager.set_session_state(sid, {"k": 1}, caller=other)
    assert manager.list_sessions(caller=other).total_size == 2
    manager.revoke_session_access(sid, "other")
    with pytest.raises(AccessDenied):
        manager.get_session_state(sid, caller=other)
    with pytest.raises(AccessDenied):
        manager.grant_session_access(sid, "other", caller=owner)  # only admins grant
    events = [e.type for e in manager.list_events(sid, page_size=100).items]
    assert "session.access_granted" in events and "session.access_revoked" in events
    # Denials are audited in the log, never in the session (they must not change its etag).
    assert "session.access_denied" not in events
    denials = [r for r in caplog.records if r.name == "llmspell_sessions.audit"]
    assert denials and all(getattr(r, "subject", "") == "other" for r in denials)


def test_create_request_ids_belong_to_their_subject(manager: SessionManager) -> None:
    alice, bob = Caller(subject="alice", role=Role.WRITER), Caller(subject="bob", role=Role.WRITER)
    first = manager.create_session(name="a", request_id="same", caller=alice)
    assert manager.create_session(name="a again", request_id="same", caller=alice) == first  # a retry
    other = manager.create_session(name="b", request_id="same", caller=bob)  # never alice's session
    assert other != first and manager.get_session(other, caller=bob).created_by == "bob"
