"""ApplyChanges and ReadSession over the real server: atomicity, seqs, concurrency guards,
idempotency, access and bounds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import (
    AccessDenied,
    ArtifactNotFound,
    EtagMismatch,
    InvalidArgument,
    ResourceExhausted,
    SeqMismatch,
    SessionNotFound,
)

from tests.helpers.server import ServerProcess
from tests.rpc.test_security import _config


def test_one_call_writes_state_and_events_with_gapless_seqs(client: SessionClient) -> None:
    sid = client.create_session(name="batch")
    applied = client.apply_changes(
        sid, {"a": 1, "b": {"x": [1, 2]}}, events=[{"type": "app.step", "payload": {"n": 1}}]
    )
    assert [(e.seq, e.type) for e in applied.events] == [(2, "state.changed"), (3, "app.step")]
    assert applied.session.last_event_seq == 3 and applied.session.etag == "s3"
    again = client.apply_changes(sid, delete_keys=["a"], events=[{"type": "app.step"}] * 2)
    assert [e.seq for e in again.events] == [4, 5, 6]
    assert client.get_session_state(sid) == {"b": {"x": [1, 2]}}
    assert [e.seq for e in client.list_events(sid).items] == list(range(1, 7))


def test_create_entries_never_overwrite(client: SessionClient) -> None:
    sid = client.create_session()
    client.apply_changes(sid, {"k": "first"})
    applied = client.apply_changes(sid, create_entries={"k": "second", "new": 1})
    assert applied.events[0].payload["set"] == {"new": 1}
    assert client.get_session_state(sid) == {"k": "first", "new": 1}
    assert client.apply_changes(sid, create_entries={"k": "third"}).events == []  # nothing to do: no event


def test_a_bad_part_rejects_the_whole_batch(client: SessionClient) -> None:
    sid = client.create_session()
    for bad in (
        {"entries": {"ok": 1, "": 2}},
        {"entries": {"ok": 1}, "events": [{"type": "state.forged"}]},
        {"entries": {"ok": 1}, "delete_keys": ["ok"]},
        {"entries": {f"k{i}": i for i in range(1001)}},
        {},
    ):
        with pytest.raises(InvalidArgument) as caught:
            client.apply_changes(sid, **bad)  # type: ignore[arg-type]
        assert caught.value.reason == "INVALID_ARGUMENT"
    assert client.get_session_state(sid) == {}
    assert client.get_session(sid).last_event_seq == 1


def test_a_quota_writes_nothing(server_factory: Callable[..., ServerProcess], tmp_path: Path) -> None:
    config = tmp_path / "limits.toml"
    config.write_text("max_state_bytes = 100\n")
    server = server_factory(args=["--config", str(config)])
    with SessionClient(server.address) as c:
        sid = c.create_session()
        with pytest.raises(ResourceExhausted):
            c.apply_changes(sid, {"big": "x" * 200}, events=[{"type": "app.step"}])
        assert c.get_session_state(sid) == {} and c.get_session(sid).last_event_seq == 1


def test_stale_guards_are_aborted(client: SessionClient) -> None:
    sid = client.create_session()
    client.apply_changes(sid, {"a": 1})
    with pytest.raises(SeqMismatch):
        client.apply_changes(sid, {"a": 2}, expected_last_seq=1)
    with pytest.raises(EtagMismatch):
        client.apply_changes(sid, {"a": 2}, etag="s1")
    assert client.apply_changes(sid, {"a": 3}, expected_last_seq=2, etag="s2").session.last_event_seq == 3


def test_request_id_makes_a_retry_return_the_first_result(client: SessionClient) -> None:
    sid = client.create_session()
    first = client.apply_changes(sid, {"n": 1}, events=[{"type": "app.x"}], request_id="retry-1")
    retry = client.apply_changes(sid, {"n": 2}, events=[{"type": "app.x"}], request_id="retry-1")
    assert [e.seq for e in retry.events] == [e.seq for e in first.events] == [2, 3]
    assert client.get_session_state(sid) == {"n": 1} and client.get_session(sid).last_event_seq == 3


def test_read_session_answers_a_framework_read_in_one_call(client: SessionClient) -> None:
    sid = client.create_session()
    client.apply_changes(sid, {f"p/{i:02}": i for i in range(5)} | {"head": "x"})
    client.apply_changes(sid, events=[{"type": "app.a"}, {"type": "other.b"}, {"type": "app.c"}])
    client.store_artifact(sid, "report.md", b"hello")
    read = client.read_session(
        sid,
        state_keys=["head", "missing"],
        state_prefix="p/",
        reverse=True,
        page_size=2,
        last_events=2,
        event_types=["app."],
        artifact_names=["report.md", "absent"],
    )
    assert read.session.session_id == sid and read.state == {"head": "x"}
    assert read.entries == [("p/04", 4), ("p/03", 3)] and read.next_state_page_token
    assert [e.type for e in read.events] == ["app.a", "app.c"]
    assert [a.name for a in read.artifacts] == ["report.md"]
    rest = client.read_session(sid, state_prefix="p/", reverse=True, page_size=2, page_token=read.next_state_page_token)
    assert [k for k, _ in rest.entries] == ["p/02", "p/01"]
    before = client.read_session(sid, state_prefix="p/", reverse=True, start_after="p/02")
    assert [k for k, _ in before.entries] == ["p/01", "p/00"] and not before.next_state_page_token
    with pytest.raises(InvalidArgument):
        client.read_session(sid, last_events=-1)
    with pytest.raises(InvalidArgument):
        client.read_session(sid, state_prefix="p/", page_token="garbage")


def test_readers_cannot_write_and_tenants_are_isolated(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_factory(args=["--config", str(_config(tmp_path))])
    with (
        SessionClient(server.address, token="alice-w") as alice,
        SessionClient(server.address, token="alice-r") as reader,
        SessionClient(server.address, token="bob-w") as bob,
        SessionClient(server.address, token="root") as admin,
    ):
        sid = alice.create_session()
        alice.apply_changes(sid, {"a": 1})
        admin.grant_session_access(sid, "alice-reader", "read")
        assert reader.read_session(sid, state_keys=["a"]).state == {"a": 1}
        with pytest.raises(AccessDenied):
            reader.apply_changes(sid, {"a": 2})
        with pytest.raises(SessionNotFound):
            bob.apply_changes(sid, {"a": 2})
        with pytest.raises(SessionNotFound):
            bob.read_session(sid)
        assert alice.get_session_state(sid) == {"a": 1}


def test_an_empty_prefix_with_a_page_size_pages_every_key(client: SessionClient) -> None:
    sid = client.create_session()
    client.apply_changes(sid, {f"k{i:02}": i for i in range(5)})
    first = client.read_session(sid, page_size=3)
    assert [k for k, _ in first.entries] == ["k00", "k01", "k02"] and first.next_state_page_token
    rest = client.read_session(sid, page_size=3, page_token=first.next_state_page_token)
    assert [k for k, _ in rest.entries] == ["k03", "k04"] and not rest.next_state_page_token
    assert client.read_session(sid).entries == []  # no prefix, no page size: no scan


def test_events_that_do_not_fit_are_flagged_not_silently_dropped(client: SessionClient) -> None:
    sid = client.create_session()
    big = "x" * (900 * 1024)
    for _ in range(5):  # 4.5 MiB of matching events: more than one response holds
        client.apply_changes(sid, events=[{"type": "app.big", "payload": {"blob": big}}])
    client.apply_changes(sid, events=[{"type": "app.small"}])
    read = client.read_session(sid, last_events=10, event_types=["app."])
    assert read.events_truncated and 1 <= len(read.events) < 6
    assert read.events[-1].type == "app.small"
    seqs = [e.seq for e in read.events]
    assert seqs == sorted(seqs) and seqs[-1] == client.get_session(sid).last_event_seq
    small = client.read_session(sid, last_events=1, event_types=["app."])
    assert [e.type for e in small.events] == ["app.small"] and not small.events_truncated


def test_related_sessions_state_comes_in_the_same_read(client: SessionClient) -> None:
    sid, shared, other = client.create_session(), client.create_session(), client.create_session()
    client.apply_changes(sid, {"own": 1})
    client.apply_changes(shared, {"theme": "dark", "n": 2})
    read = client.read_session(sid, page_size=100, related_session_ids=[shared, other])
    assert read.entries == [("own", 1)]
    assert [(r.session_id, r.state, r.truncated) for r in read.related] == [
        (shared, {"n": 2, "theme": "dark"}, False),
        (other, {}, False),
    ]
    with pytest.raises(InvalidArgument):
        client.read_session(sid, related_session_ids=[client.create_session() for _ in range(9)])
    with pytest.raises(SessionNotFound):
        client.read_session(sid, related_session_ids=["01890000-0000-7000-8000-000000000000"])


def test_a_related_session_needs_the_callers_access(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = server_factory(args=["--config", str(_config(tmp_path))])
    with (
        SessionClient(server.address, token="alice-w") as alice,
        SessionClient(server.address, token="alice-r") as reader,
        SessionClient(server.address, token="bob-w") as bob,
        SessionClient(server.address, token="root") as admin,
    ):
        mine, secret = alice.create_session(), alice.create_session()
        alice.apply_changes(secret, {"k": "secret"})
        admin.grant_session_access(mine, "alice-reader", "read")
        with pytest.raises(AccessDenied):
            reader.read_session(mine, related_session_ids=[secret])
        bobs = bob.create_session()
        with pytest.raises(SessionNotFound):
            bob.read_session(bobs, related_session_ids=[secret])


def test_download_by_session_name_and_version(client: SessionClient) -> None:
    sid = client.create_session()
    client.store_artifact(sid, "notes.md", b"one")
    client.store_artifact(sid, "notes.md", b"two")
    latest, data = client.get_artifact(sid, name="notes.md")
    assert (latest.version, data) == (2, b"two")
    first, data = client.get_artifact(sid, name="notes.md", version=1)
    assert (first.version, data) == (1, b"one")
    _, pieces = client.download_artifact(session_id=sid, name="notes.md", offset=1, limit=1)
    assert b"".join(pieces) == b"w"
    with pytest.raises(ArtifactNotFound):
        client.get_artifact(sid, name="absent.md")
    with pytest.raises(ArtifactNotFound):
        client.get_artifact(sid, name="notes.md", version=3)
    with pytest.raises(InvalidArgument):
        client.get_artifact(sid, name="")
