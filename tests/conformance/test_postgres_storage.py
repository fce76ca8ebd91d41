"""What only the PostgreSQL backend has: its schema version, paged scans, transactions under failure and
concurrency, and lost connections. All on the real throwaway cluster of the postgres_cluster fixture."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llmspell_sessions.errors import Unavailable
from llmspell_sessions.storage import WriteBatch
from llmspell_sessions.storage.base import EVERYTHING
from llmspell_sessions.storage.memory import MemoryStorage
from llmspell_sessions.storage.postgres import SCHEMA, SCHEMA_VERSION, PostgresStorage

from tests.helpers.postgres import PostgresCluster


@pytest.fixture
def storage(postgres_dsn: str) -> Iterator[PostgresStorage]:
    store = PostgresStorage(postgres_dsn)
    yield store
    store.close()


def _fill(store: PostgresStorage, cf: str, keys: list[bytes]) -> None:
    batch = WriteBatch()
    for key in keys:
        batch.put(cf, key, key[::-1])
    store.write(batch)


def test_data_survives_reopen_and_the_schema_is_created_once(postgres_dsn: str) -> None:
    first = PostgresStorage(postgres_dsn)
    _fill(first, "events", [b"k"])
    first.close()
    second = PostgresStorage(postgres_dsn)
    try:
        assert second.get("events", b"k") == b"k"
    finally:
        second.close()
    with psycopg.connect(postgres_dsn) as conn:
        assert conn.execute(f"SELECT version FROM {SCHEMA}.schema_version").fetchall() == [(SCHEMA_VERSION,)]


def test_a_newer_schema_version_is_refused(postgres_dsn: str) -> None:
    PostgresStorage(postgres_dsn).close()
    with psycopg.connect(postgres_dsn) as conn:
        conn.execute(f"UPDATE {SCHEMA}.schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(Unavailable, match=r"schema version 2, newer than this server's 1"):
        PostgresStorage(postgres_dsn)


def test_an_unreachable_server_is_unavailable(tmp_path: object) -> None:
    with pytest.raises(Unavailable, match="cannot connect"):
        PostgresStorage(f"host={tmp_path} port=1 user=postgres dbname=none", connect_timeout=1.0)


def test_a_large_scan_streams_in_key_order_both_ways(storage: PostgresStorage) -> None:
    keys = [b"s\x00" + i.to_bytes(4, "big") for i in range(20_000)]
    for start in range(0, len(keys), 5000):
        _fill(storage, "events", keys[start : start + 5000])
    _fill(storage, "events", [b"r", b"s", b"s\x01", b"t"])  # outside the prefix on both sides
    assert [k for k, _ in storage.scan("events", b"s\x00")] == keys
    assert [k for k, _ in storage.scan("events", b"s\x00", reverse=True)] == keys[::-1]
    assert [k for k, _ in storage.scan("events", b"s\x00", start=keys[12_345])] == keys[12_345:]
    assert [k for k, _ in storage.scan("events", b"s\x00", start=keys[12_345], reverse=True)] == keys[12_345::-1]
    # Streamed: the scan reads page by page, so a key committed after it began (beyond its first page)
    # is still seen, and while it is paused the caller can use the store (it holds no connection).
    scan = storage.scan("events", b"s\x00")
    assert next(scan)[0] == keys[0]
    late = b"s\x00\xff"
    _fill(storage, "events", [late])
    assert storage.get("events", late) == late[::-1]
    rest = [k for k, _ in scan]
    assert rest[-1] == late and len(rest) == len(keys)


def test_a_paused_scan_does_not_block_a_one_connection_pool(postgres_dsn: str) -> None:
    store = PostgresStorage(postgres_dsn, pool_size=1, page_size=2)
    try:
        _fill(store, "state", [b"a", b"b", b"c", b"d", b"e"])
        seen = []
        for key, _ in store.scan("state", b""):
            seen.append(key)
            _fill(store, "sessions", [key])  # a write between items of the caller's own scan
        assert seen == [b"a", b"b", b"c", b"d", b"e"]
        assert [k for k, _ in store.scan("sessions", b"", reverse=True)] == seen[::-1]
    finally:
        store.close()


def test_a_reverse_scan_ending_at_the_empty_key_stops(postgres_dsn: str) -> None:
    store = PostgresStorage(postgres_dsn, page_size=1)
    try:
        _fill(store, "state", [b"", b"\x00", b"\xff"])
        assert [k for k, _ in store.scan("state", b"", reverse=True)] == [b"\xff", b"\x00", b""]
        assert [k for k, _ in store.scan("state", b"", start=b"", reverse=True)] == [b""]
    finally:
        store.close()


def test_a_batch_that_fails_midway_leaves_nothing(storage: PostgresStorage) -> None:
    _fill(storage, "state", [b"keep1", b"keep2"])
    batch = WriteBatch()
    batch.delete("state", b"keep1")
    batch.delete_prefix("state", b"keep")
    for i in range(1000):
        batch.put("state", b"new%d" % i, b"v")
    batch.put("sessions", b"s", b"record")
    batch.ops.append((0, "sessions", b"bad", None))  # type: ignore[arg-type]  # NOT NULL fails in PostgreSQL
    batch.put("sessions", b"after", b"never")
    with pytest.raises(psycopg.errors.NotNullViolation):
        storage.write(batch)
    assert list(storage.scan("state", b"")) == [(b"keep1", b"1peek"), (b"keep2", b"2peek")]
    assert list(storage.scan("sessions", b"")) == []
    _fill(storage, "sessions", [b"ok"])  # the connection went back to the pool in a usable state
    assert storage.get("sessions", b"ok") == b"ko"


def test_an_unknown_family_fails_before_anything_is_written(storage: PostgresStorage) -> None:
    batch = WriteBatch()
    batch.put("sessions", b"a", b"1")
    batch.put("no_such_family", b"b", b"2")
    with pytest.raises(KeyError):
        storage.write(batch)
    assert storage.get("sessions", b"a") is None


def test_concurrent_writers_and_readers(storage: PostgresStorage) -> None:
    """Eight threads write batches that set a pair of keys to one value; readers never see a torn pair."""
    threads, rounds = 8, 60
    torn: list[tuple[bytes | None, bytes | None]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(t: int) -> None:
        try:
            for i in range(rounds):
                batch = WriteBatch()
                value = b"%d-%d" % (t, i)
                batch.put("state", b"pair\x00a", value)
                batch.put("state", b"pair\x00b", value)
                batch.put("events", b"w%02d-%04d" % (t, i), value)
                storage.write(batch)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    def reader() -> None:
        try:
            while not stop.is_set():
                a, b = storage.multi_get("state", [b"pair\x00a", b"pair\x00b"])
                if a != b:
                    torn.append((a, b))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
    for thread in itertools.chain(readers, writers):
        thread.start()
    for thread in writers:
        thread.join(60)
    stop.set()
    for thread in readers:
        thread.join(60)
    assert not errors and not torn
    assert len(list(storage.scan("events", b"w"))) == threads * rounds


def test_a_lost_connection_is_unavailable_then_recovers(storage: PostgresStorage, postgres_dsn: str) -> None:
    _fill(storage, "sessions", [b"a"])
    dbname = dict(part.split("=") for part in postgres_dsn.split())["dbname"]
    with psycopg.connect(postgres_dsn.replace(f"dbname={dbname}", "dbname=postgres"), autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            (dbname,),
        )
    outcomes = []
    for _ in range(5):
        try:
            outcomes.append(storage.get("sessions", b"a"))
            break
        except Unavailable:
            outcomes.append(None)
    assert outcomes[-1] == b"a"  # at most the call on the killed connection failed, as Unavailable


def test_closed_store_refuses_every_call(storage: PostgresStorage) -> None:
    scan = storage.scan("state", b"")
    storage.close()
    storage.close()  # twice is fine
    for call in (
        lambda: storage.get("state", b"a"),
        lambda: storage.multi_get("state", [b"a"]),
        lambda: storage.multi_get("state", []),
        lambda: list(storage.scan("state", b"")),
        lambda: storage.write(WriteBatch()),
        storage.sync,
        lambda: list(scan),  # a scan made before close reads nothing after it
    ):
        with pytest.raises(Unavailable):
            call()


_keys = st.lists(st.sampled_from([0, 1, 97, 98, 254, 255]), min_size=0, max_size=4).map(bytes)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    items=st.dictionaries(_keys, st.binary(max_size=3), max_size=16),
    prefix=st.binary(max_size=2),
    start=st.none() | _keys,
    reverse=st.booleans(),
    deleted_prefix=st.none() | _keys,
)
def test_paged_scans_agree_with_the_memory_backend(
    postgres_cluster: PostgresCluster,
    items: dict[bytes, bytes],
    prefix: bytes,
    start: bytes | None,
    reverse: bool,
    deleted_prefix: bytes | None,
) -> None:
    """Pages of 2 rows, so every page boundary, start and prefix edge (0xff, empty) is crossed."""
    memory = MemoryStorage()
    postgres = PostgresStorage(postgres_cluster.new_database(), page_size=2, pool_size=1)
    try:
        for store in (memory, postgres):
            batch = WriteBatch()
            for key, value in items.items():
                batch.put("state", key, value)
            if deleted_prefix is not None:
                batch.delete_prefix("state", deleted_prefix)
            store.write(batch)
        expected = list(memory.scan("state", prefix, start=start, reverse=reverse))
        assert list(postgres.scan("state", prefix, start=start, reverse=reverse)) == expected
        wanted = [*items, b"missing"]
        assert postgres.multi_get("state", wanted) == memory.multi_get("state", wanted)
    finally:
        postgres.close()


def test_notices_reach_other_stores_only_for_committed_writes(storage: PostgresStorage, postgres_dsn: str) -> None:
    heard: list[str] = []
    listener = PostgresStorage(postgres_dsn)
    try:
        listener.watch(heard.append)
        _wait(lambda: listener._watch_thread is not None and listener._watch_thread.is_alive())
        time.sleep(0.5)  # LISTEN is issued by the watching thread
        committed = WriteBatch()
        committed.put("sessions", b"a", b"1")
        committed.notice("acme one")
        with storage.transaction():  # a unit of work's transaction: announced once it commits
            storage.write(committed)
            assert "acme one" not in heard
        failed = WriteBatch()
        failed.put("sessions", b"b", b"2")
        failed.ops.append((0, "sessions", b"bad", None))  # type: ignore[arg-type]  # NOT NULL fails
        failed.notice("acme two")
        with pytest.raises(psycopg.errors.NotNullViolation), storage.transaction():
            storage.write(failed)
        plain = WriteBatch()
        plain.notice("acme three")
        plain.put("sessions", b"c", b"3")
        storage.write(plain)  # outside a transaction: its own, announced after it
        _wait(lambda: "acme three" in heard)
        assert [n for n in heard if n.startswith("acme")] == ["acme one", "acme three"]  # never a rolled-back one
        assert storage.get("sessions", b"b") is None
    finally:
        listener.close()


def test_watchers_are_told_to_look_at_everything_every_few_seconds(postgres_dsn: str) -> None:
    heard: list[str] = []
    listener = PostgresStorage(postgres_dsn)
    try:
        listener.watch(heard.append)
        _wait(lambda: EVERYTHING in heard, timeout=15)  # the bound on a notice lost between commit and notify
    finally:
        listener.close()


def _wait(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.05)
