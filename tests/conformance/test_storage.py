"""The Storage protocol's contract: every backend passes the same tests (PostgreSQL on a real, throwaway
cluster started by the postgres_cluster fixture; each store gets a new database)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llmspell_sessions.errors import Unavailable
from llmspell_sessions.storage import Storage, WriteBatch
from llmspell_sessions.storage.memory import MemoryStorage
from llmspell_sessions.storage.postgres import PostgresStorage
from llmspell_sessions.storage.rocksdb import RocksDBStorage

from tests.helpers.postgres import PostgresCluster

BACKENDS: dict[str, Callable[[Path], Storage]] = {
    "memory": lambda path: MemoryStorage(),
    "rocksdb": lambda path: RocksDBStorage(path),
}


def _all_backends(cluster: PostgresCluster) -> dict[str, Callable[[Path], Storage]]:
    """BACKENDS plus PostgreSQL, whose stores each get a new database of the test cluster."""
    return {**BACKENDS, "postgres": lambda path: PostgresStorage(cluster.new_database())}


@pytest.fixture(params=[*sorted(BACKENDS), "postgres"])
def any_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "postgres":
        storage: Storage = _all_backends(request.getfixturevalue("postgres_cluster"))["postgres"](tmp_path)
    else:
        storage = BACKENDS[request.param](tmp_path / "db")
    yield storage
    storage.close()


def _put(storage: Storage, cf: str, items: dict[bytes, bytes]) -> None:
    batch = WriteBatch()
    for key, value in items.items():
        batch.put(cf, key, value)
    storage.write(batch)


def test_get_returns_what_was_put_and_none_for_missing(any_storage: Storage) -> None:
    _put(any_storage, "sessions", {b"a": b"1", b"b": b""})
    assert any_storage.get("sessions", b"a") == b"1"
    assert any_storage.get("sessions", b"b") == b""
    assert any_storage.get("sessions", b"c") is None
    assert any_storage.get("state", b"a") is None  # column families are separate


def test_multi_get_keeps_order_and_marks_missing(any_storage: Storage) -> None:
    _put(any_storage, "chunks", {b"x": b"1", b"z": b"3"})
    assert any_storage.multi_get("chunks", [b"z", b"y", b"x"]) == [b"3", None, b"1"]
    assert any_storage.multi_get("chunks", []) == []


def test_scan_is_ordered_and_bounded_by_prefix(any_storage: Storage) -> None:
    _put(any_storage, "events", {b"a\x00\x01": b"1", b"a\x00\x02": b"2", b"a\x01": b"x", b"a": b"y", b"b": b"z"})
    assert [k for k, _ in any_storage.scan("events", b"a\x00")] == [b"a\x00\x01", b"a\x00\x02"]
    assert [k for k, _ in any_storage.scan("events", b"a\x00", reverse=True)] == [b"a\x00\x02", b"a\x00\x01"]
    assert [k for k, _ in any_storage.scan("events", b"a")] == [b"a", b"a\x00\x01", b"a\x00\x02", b"a\x01"]


def test_scan_start_is_inclusive_both_ways(any_storage: Storage) -> None:
    _put(any_storage, "events", {b"p1": b"", b"p2": b"", b"p3": b"", b"p4": b""})
    assert [k for k, _ in any_storage.scan("events", b"p", start=b"p2")] == [b"p2", b"p3", b"p4"]
    assert [k for k, _ in any_storage.scan("events", b"p", start=b"p3", reverse=True)] == [b"p3", b"p2", b"p1"]
    assert [k for k, _ in any_storage.scan("events", b"p", start=b"p25", reverse=True)] == [b"p2", b"p1"]
    assert [k for k, _ in any_storage.scan("events", b"p", start=b"p25")] == [b"p3", b"p4"]


def test_scan_of_prefix_ending_in_ff(any_storage: Storage) -> None:
    _put(any_storage, "session_index", {b"\xffx1": b"a", b"\xffx2": b"b", b"\xfe": b"c"})
    assert [k for k, _ in any_storage.scan("session_index", b"\xff")] == [b"\xffx1", b"\xffx2"]


def test_batch_applies_puts_deletes_and_prefix_deletes_together(any_storage: Storage) -> None:
    _put(any_storage, "state", {b"s1\x00a": b"1", b"s1\x00b": b"2", b"s2\x00a": b"3"})
    batch = WriteBatch()
    batch.delete_prefix("state", b"s1\x00")
    batch.put("state", b"s1\x00c", b"new")
    batch.delete("state", b"s2\x00a")
    batch.put("sessions", b"s1", b"record")
    any_storage.write(batch)
    assert list(any_storage.scan("state", b"")) == [(b"s1\x00c", b"new")]
    assert any_storage.get("sessions", b"s1") == b"record"


def test_later_op_in_a_batch_wins(any_storage: Storage) -> None:
    batch = WriteBatch()
    batch.put("sessions", b"k", b"1")
    batch.delete("sessions", b"k")
    batch.put("sessions", b"j", b"1")
    batch.put("sessions", b"j", b"2")
    any_storage.write(batch)
    assert any_storage.get("sessions", b"k") is None
    assert any_storage.get("sessions", b"j") == b"2"


def test_sync_write_and_sync(any_storage: Storage) -> None:
    batch = WriteBatch()
    batch.put("sessions", b"durable", b"yes")
    any_storage.write(batch, sync=True)
    any_storage.sync()
    assert any_storage.get("sessions", b"durable") == b"yes"


def test_closed_store_is_unavailable(any_storage: Storage) -> None:
    any_storage.close()
    with pytest.raises(Unavailable):
        any_storage.get("sessions", b"a")
    with pytest.raises(Unavailable):
        any_storage.write(WriteBatch())


def test_rocksdb_keeps_data_across_reopen(tmp_path: Path) -> None:
    first = RocksDBStorage(tmp_path / "db")
    _put(first, "events", {b"k": b"v"})
    first.close()
    second = RocksDBStorage(tmp_path / "db")
    try:
        assert second.get("events", b"k") == b"v"
    finally:
        second.close()


def test_rocksdb_second_open_of_same_path_is_unavailable(tmp_path: Path) -> None:
    first = RocksDBStorage(tmp_path / "db")
    try:
        with pytest.raises(Unavailable):
            RocksDBStorage(tmp_path / "db")
    finally:
        first.close()


_keys = st.lists(st.sampled_from([0, 1, 97, 98, 254, 255]), min_size=1, max_size=6).map(bytes)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=st.dictionaries(_keys, st.binary(max_size=4), max_size=20),
    prefix=st.binary(max_size=2),
    deleted=st.lists(_keys, max_size=5),
)
def test_backends_agree_with_a_dict_model(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_cluster: PostgresCluster,
    items: dict[bytes, bytes],
    prefix: bytes,
    deleted: list[bytes],
) -> None:
    model = {k: v for k, v in items.items() if k not in deleted}
    expected = sorted((k, v) for k, v in model.items() if k.startswith(prefix))
    for make in _all_backends(postgres_cluster).values():
        storage = make(tmp_path_factory.mktemp("prop") / "db")
        try:
            batch = WriteBatch()
            for key, value in items.items():
                batch.put("state", key, value)
            for key in deleted:
                batch.delete("state", key)
            storage.write(batch)
            assert list(storage.scan("state", prefix)) == expected
            assert list(storage.scan("state", prefix, reverse=True)) == expected[::-1]
        finally:
            storage.close()


def test_try_transaction_never_waits_and_excludes_other_threads(any_storage: Storage) -> None:
    """An embedded store begins one only while no other thread is in a transaction; a shared
    store never does (its statements are network round trips, which no event loop may wait on)."""
    import threading

    if any_storage.shared:
        assert any_storage.try_transaction() is None
        return
    held = any_storage.try_transaction()
    assert held is not None
    with held:
        with any_storage.transaction():  # re-entrant on the same thread: the write inside can nest
            _put(any_storage, "sessions", {b"k": b"v"})
        seen: list[object] = []
        thread = threading.Thread(target=lambda: seen.append(any_storage.try_transaction()))
        thread.start()
        thread.join()
        assert seen == [None]  # the other thread is told now, not made to wait
    entered = threading.Event()
    leave = threading.Event()

    def hold() -> None:
        with any_storage.transaction():
            entered.set()
            leave.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    assert entered.wait(10)
    try:
        assert any_storage.try_transaction() is None
    finally:
        leave.set()
        holder.join()
    again = any_storage.try_transaction()
    assert again is not None
    with again:
        assert any_storage.get("sessions", b"k") == b"v"
