"""The PostgreSQL backend (psycopg 3): one table per column family, one transaction per WriteBatch.

Schema, owned by this module and created on first open (in schema ``llmspell_sessions`` of the
database the DSN names, so the store can share a database with other applications):

- one table per column family, named after it: ``key bytea primary key, value bytea not null``;
- ``schema_version(version integer)``, one row. A database written by a newer version of this code
  is refused at open (Unavailable), never read with rules that no longer hold for it.

Ordering: PostgreSQL compares bytea bytewise (memcmp, then length), exactly as RocksDB's default
comparator does, so prefix scans, ``start`` and reverse iteration mean the same on both backends.

Scans page through the table by key (keyset pagination, 1000 rows per query by default) instead of holding
a cursor: a scan that is consumed slowly, or abandoned, holds no connection, and a caller may read
and write the store between two items of its own scan without waiting for a connection the scan
holds. Like the memory backend (and unlike a RocksDB iterator), a long scan is not one snapshot: each
page sees what was committed when it was read.

Transactions (see base.py): ``transaction()`` takes a pooled connection, binds it to the calling
thread and opens a transaction on it; every call of that thread uses it until the block ends, so a
transaction reads its own writes. ``lock`` takes transaction-scoped advisory locks
(``pg_advisory_xact_lock``) on a 64-bit hash of each row, in sorted order: several server processes
then serialise exactly the read-modify-writes that touch the same rows, and a process that dies
mid-transaction releases its locks with its connection (PostgreSQL rolls the transaction back).
A hash collision only makes two unrelated rows share a lock. Deadlocks (rows locked in different
orders by two transactions) are broken by PostgreSQL; the loser fails Unavailable with a short
retry delay, having written nothing.

Notices (WriteBatch.notice) are sent with ``pg_notify`` right after the transaction commits, in a
statement of their own, never inside it: a transaction that notifies holds a cluster-wide lock
until its commit is flushed, so notifying writes would queue one fsync after another (see
docs/scale-out.md); a notify-only statement writes no WAL and holds that lock briefly. A notice is
thus a best-effort wake-up, never lost data: ``watch`` LISTENs on a connection of its own and also
tells its watchers EVERYTHING every few seconds, so a notice lost with a process that died between
its commit and its notify delays a subscriber by at most that much.

Threads: the engine calls storage from several threads (the gRPC server's executor, the sweeper, the
maintenance pass). Each call borrows a connection from a psycopg_pool ConnectionPool rather than
taking a lock around one shared connection: a PostgreSQL call is a network round trip, and with one
connection every thread waits for every other thread's round trip. Measured on a 2-core machine
against a local PostgreSQL 15 over a unix socket (fsync on), 4 threads each doing 300 single-put
batches then 300 gets: one connection behind a threading.Lock 0.48 s, this pool (8 connections)
0.35 s; on one thread both take 0.16 s for the 600 calls (the pool's hand-out costs far less than
a round trip). A pool of one connection is the worst of both (0.74 s: every hand-off is a queue wait).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import psycopg
import psycopg_pool
from psycopg import sql

from ..errors import Unavailable
from .base import COLUMN_FAMILIES, DELETE, EVERYTHING, PUT, Row, Watcher, WriteBatch, prefix_end

log = logging.getLogger(__name__)

SCHEMA = "llmspell_sessions"
SCHEMA_VERSION = 1
"""The layout this code reads and writes; bump it (with a migration) when the tables change."""

_PAGE = 1000  # rows per scan query: big enough that a scan of a session's events is one query
_POOL_SIZE = 8  # connections per process at most; each is a PostgreSQL backend process
_CONNECT_TIMEOUT = 10.0  # seconds to get a connection before a call fails Unavailable
# Seconds the pool retries one lost connection (backing off 1, 2, 4 s) before giving up; the next
# call then starts a fresh attempt. psycopg_pool's default (5 min) lets the backoff grow to minutes,
# so a frontend would stay failing long after PostgreSQL is back.
_RECONNECT_TIMEOUT = 5.0
_PING_TIMEOUT = 2.0  # seconds ping() waits for a connection
_SCHEMA_LOCK = 0x6C6C6D73  # advisory lock id: two servers opening a new database create it once
CHANNEL = "llmspell_sessions"  # LISTEN/NOTIFY channel of WriteBatch notices
_CONFLICT_RETRY = 0.05  # seconds a client should wait before retrying a transaction PostgreSQL aborted
_WATCH_RETRY = 1.0  # seconds between attempts to re-listen after the connection was lost
_WATCH_SWEEP = 5.0  # seconds between EVERYTHING notices: the bound on a lost notice's delay
_NOTIFY = "SELECT pg_notify(%s, n) FROM unnest(%s::text[]) AS n"
_LOCK_ROWS = "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(k, i) ORDER BY i"

T = TypeVar("T")


class _Queries:
    """The SQL of one column family, composed once (table names are identifiers, never parameters)."""

    __slots__ = ("get", "multi_get", "upsert", "delete", "delete_range", "delete_from", "scans")

    def __init__(self, cf: str) -> None:
        table = sql.Identifier(SCHEMA, cf)

        def text(template: str) -> str:
            return sql.SQL(template).format(table=table).as_string(None)

        self.get = text("SELECT value FROM {table} WHERE key = %s")
        self.multi_get = text("SELECT key, value FROM {table} WHERE key = ANY(%s)")
        self.upsert = text(
            "INSERT INTO {table} (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
        )
        self.delete = text("DELETE FROM {table} WHERE key = %s")
        self.delete_range = text("DELETE FROM {table} WHERE key >= %s AND key < %s")
        self.delete_from = text("DELETE FROM {table} WHERE key >= %s")  # DELETE_RANGE with an unbounded end
        # Scans: (reverse, bounded above) -> query over (low, [high,] limit), always low <= key < high;
        # _scan turns the prefix, start and the last key of the previous page into those two bounds.
        self.scans = {
            (False, True): text("SELECT key, value FROM {table} WHERE key >= %s AND key < %s ORDER BY key LIMIT %s"),
            (False, False): text("SELECT key, value FROM {table} WHERE key >= %s ORDER BY key LIMIT %s"),
            (True, True): text(
                "SELECT key, value FROM {table} WHERE key >= %s AND key < %s ORDER BY key DESC LIMIT %s"
            ),
            (True, False): text("SELECT key, value FROM {table} WHERE key >= %s ORDER BY key DESC LIMIT %s"),
        }


_QUERIES = {cf: _Queries(cf) for cf in COLUMN_FAMILIES}


def _lock_id(row: Row) -> int:
    """A signed 64-bit advisory lock id for a row."""
    cf, key = row
    digest = hashlib.blake2b(cf.encode() + b"\x00" + key, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class _Bound(threading.local):
    """The transaction the current thread is in, if any."""

    conn: psycopg.Connection[Any] | None = None
    depth = 0
    failed = False
    notices: list[str] = []  # of this transaction's writes, sent once it commits


def _configure(conn: psycopg.Connection[Any]) -> None:
    # Every commit waits for its WAL flush whatever the server's default: that is what makes
    # write(sync=True) and sync() hold with no extra work (see sync()).
    conn.execute("SET synchronous_commit = on")


class PostgresStorage:
    """Storage in a PostgreSQL database; every WriteBatch is one transaction (or part of the
    transaction the calling thread is in)."""

    shared = True  # any number of server processes may use the same database

    def __init__(
        self,
        dsn: str,
        *,
        pool_size: int = _POOL_SIZE,
        page_size: int = _PAGE,
        connect_timeout: float = _CONNECT_TIMEOUT,
    ) -> None:
        """Connects (waiting at most connect_timeout seconds) and creates the schema if it is missing.

        pool_size bounds this process's connections; page_size is the rows per scan query.
        """
        if not dsn:
            raise Unavailable("the postgres backend needs a DSN (postgres_dsn / --postgres-dsn)")
        self._closed = False
        self._dsn = dsn
        self._connect_timeout = connect_timeout
        self._page = max(1, page_size)
        self._bound = _Bound()
        self._watchers: list[Watcher] = []
        self._watch_thread: threading.Thread | None = None
        self._pool = psycopg_pool.ConnectionPool(
            dsn,
            min_size=1,
            max_size=max(1, pool_size),
            kwargs={"autocommit": True},  # reads are single statements; writes open their own transaction
            configure=_configure,
            timeout=connect_timeout,
            reconnect_timeout=_RECONNECT_TIMEOUT,
            open=False,
            name="llmspell-sessions",
        )
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except psycopg_pool.PoolTimeout as exc:
            self._pool.close()
            raise Unavailable(f"cannot connect to PostgreSQL: {exc}") from exc
        try:
            self._call(self._create_schema)
        except BaseException:
            self._closed = True
            self._pool.close()
            raise

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        if self._closed:
            raise Unavailable("the store is closed")
        bound = self._bound.conn
        if bound is not None:  # inside a transaction: every call of this thread is part of it
            yield bound
            return
        with self._pool.connection() as conn:
            yield conn

    def _call(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Runs work on the thread's transaction or a pooled connection; a lost server or connection
        becomes Unavailable (and fails the transaction)."""
        try:
            with self._connection() as conn:
                return work(conn)
        except psycopg.Error as exc:
            if self._bound.depth:
                self._bound.failed = True  # PostgreSQL aborted the transaction: nothing of it commits
            if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
                raise _unavailable(exc) from exc
            raise
        except (psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed) as exc:
            raise Unavailable(f"no PostgreSQL connection: {exc}") from exc

    # -- transactions ----------------------------------------------------------------------------

    def transaction(self) -> AbstractContextManager[object]:
        return self._transaction()

    def try_transaction(self) -> AbstractContextManager[object] | None:
        return None  # every statement is a network round trip: never inline on an event loop

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        bound = self._bound
        if bound.depth:
            bound.depth += 1
            try:
                yield
            finally:
                bound.depth -= 1
            return
        if self._closed:
            raise Unavailable("the store is closed")
        try:
            lease = self._pool.connection()
            conn = lease.__enter__()
        except (psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed) as exc:
            raise Unavailable(f"no PostgreSQL connection: {exc}") from exc
        try:
            conn.execute("BEGIN")
            bound.conn, bound.depth, bound.failed, bound.notices = conn, 1, False, []
            try:
                yield
            finally:
                failed, notices = bound.failed, bound.notices
                bound.conn, bound.depth, bound.failed, bound.notices = None, 0, False, []
                # Commit even when the block raised: each write that returned is a whole unit (the
                # engine writes a unit's batch last), exactly as on the embedded store.
                conn.execute("ROLLBACK" if failed else "COMMIT")
                if not failed:
                    _notify(conn, notices)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise _unavailable(exc) from exc
        finally:
            lease.__exit__(None, None, None)  # the pool discards a connection left broken

    def lock(self, rows: Iterable[Row]) -> None:
        ids = sorted({_lock_id(row) for row in rows})
        if not ids:
            return
        if not self._bound.depth:
            raise RuntimeError("lock() outside a transaction")
        self._call(lambda conn: conn.execute(_LOCK_ROWS, (ids,)))

    # -- notices -----------------------------------------------------------------------------------

    def watch(self, watcher: Watcher) -> None:
        self._watchers.append(watcher)
        if self._watch_thread is None:
            self._watch_thread = threading.Thread(target=self._listen, name="postgres-listen", daemon=True)
            self._watch_thread.start()

    def _listen(self) -> None:
        """Delivers notices until close; after a lost connection, EVERYTHING (some may be missed)."""
        missed = False
        while not self._closed:
            try:
                with psycopg.connect(self._dsn, autocommit=True, connect_timeout=int(self._connect_timeout)) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    if missed:
                        self._tell(EVERYTHING)
                    missed = True
                    swept = time.monotonic()
                    while not self._closed:
                        for notice in conn.notifies(timeout=0.5):
                            self._tell(notice.payload)
                        if time.monotonic() - swept >= _WATCH_SWEEP:
                            swept = time.monotonic()
                            self._tell(EVERYTHING)
            except psycopg.Error as exc:
                if not self._closed:
                    log.warning("listening for other servers' commits: %s; retrying", exc)
                    threading.Event().wait(_WATCH_RETRY)

    def _tell(self, text: str) -> None:
        for watcher in self._watchers:
            try:
                watcher(text)
            except Exception:  # noqa: BLE001 - one watcher's bug must not stop the others
                log.exception("a commit watcher failed")

    @staticmethod
    def _create_schema(conn: psycopg.Connection[Any]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
            conn.execute(
                sql.SQL("CREATE TABLE IF NOT EXISTS {} (version integer NOT NULL)").format(
                    sql.Identifier(SCHEMA, "schema_version")
                )
            )
            row = conn.execute(
                sql.SQL("SELECT max(version) FROM {}").format(sql.Identifier(SCHEMA, "schema_version"))
            ).fetchone()
            found = row[0] if row else None
            if found is not None and found > SCHEMA_VERSION:
                raise Unavailable(
                    f"the PostgreSQL database holds schema version {found}, newer than this server's "
                    f"{SCHEMA_VERSION}: run a newer llmspell-sessions against it",
                    schema_version=found,
                    supported=SCHEMA_VERSION,
                )
            for cf in COLUMN_FAMILIES:
                conn.execute(
                    sql.SQL("CREATE TABLE IF NOT EXISTS {} (key bytea PRIMARY KEY, value bytea NOT NULL)").format(
                        sql.Identifier(SCHEMA, cf)
                    )
                )
            if found is None:
                conn.execute(
                    sql.SQL("INSERT INTO {} (version) VALUES (%s)").format(sql.Identifier(SCHEMA, "schema_version")),
                    (SCHEMA_VERSION,),
                )

    # -- the Storage protocol -----------------------------------------------------------------

    def get(self, cf: str, key: bytes) -> bytes | None:
        query = _QUERIES[cf].get

        def work(conn: psycopg.Connection[Any]) -> bytes | None:
            row = conn.execute(query, (key,)).fetchone()
            return None if row is None else bytes(row[0])

        return self._call(work)

    def multi_get(self, cf: str, keys: Sequence[bytes]) -> list[bytes | None]:
        if not keys:
            if self._closed:
                raise Unavailable("the store is closed")
            return []
        query = _QUERIES[cf].multi_get
        wanted = [bytes(k) for k in keys]

        def work(conn: psycopg.Connection[Any]) -> dict[bytes, bytes]:
            return {bytes(k): bytes(v) for k, v in conn.execute(query, (wanted,)).fetchall()}

        found = self._call(work)
        return [found.get(k) for k in wanted]

    def scan(
        self, cf: str, prefix: bytes, *, start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        scans = _QUERIES[cf].scans
        if self._closed:
            raise Unavailable("the store is closed")
        return self._scan(scans, prefix, start, reverse)

    def _scan(
        self, scans: dict[tuple[bool, bool], str], prefix: bytes, start: bytes | None, reverse: bool
    ) -> Iterator[tuple[bytes, bytes]]:
        page = self._page
        low = prefix
        # Exclusive upper bound, None for none (the prefix is empty or all 0xff). Not b"": in reverse,
        # a page may end at the empty key, and "below b''" must mean "nothing", not "everything".
        high: bytes | None = prefix_end(prefix) or None
        if reverse:
            if start is not None:
                if start < low:
                    return
                # The greatest key <= start: bound just above start (start + 0x00 is the smallest key
                # greater than start).
                bound = start + b"\x00"
                if high is None or bound < high:
                    high = bound
        elif start is not None and start > low:
            low = start
        while True:
            bounded = high is not None
            query = scans[(reverse, bounded)]
            params: tuple[Any, ...] = (low, high, page) if bounded else (low, page)

            def work(conn: psycopg.Connection[Any], query: str = query, params: tuple[Any, ...] = params) -> list[Any]:
                return conn.execute(query, params).fetchall()

            rows = self._call(work)
            for key, value in rows:
                yield bytes(key), bytes(value)
            if len(rows) < page:
                return
            last = bytes(rows[-1][0])
            if reverse:
                high = last  # the next page: keys strictly below the last one returned
            else:
                low = last + b"\x00"  # the smallest key strictly above the last one returned

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        # sync needs nothing more: every commit is durable before it returns (see sync()).
        # Consecutive ops of one kind on one family go to the server as one executemany (pipelined:
        # one round trip, not one per op); the order of ops is kept, so a later op still wins.
        groups: list[tuple[str, list[tuple[bytes, ...]]]] = []
        previous = ""
        params: tuple[bytes, ...]
        for op, cf, key, value in batch.ops:
            queries = _QUERIES[cf]  # an unknown family fails here, before anything is sent
            if op == PUT:
                statement, params = queries.upsert, (key, value)
            elif op == DELETE:
                statement, params = queries.delete, (key,)
            elif value:
                statement, params = queries.delete_range, (key, value)
            else:
                statement, params = queries.delete_from, (key,)
            if statement == previous:  # the statement names both the op and the family
                groups[-1][1].append(params)
            else:
                groups.append((statement, [params]))
                previous = statement

        def run(conn: psycopg.Connection[Any]) -> None:
            with conn.cursor() as cursor:
                for statement, rows in groups:
                    if len(rows) == 1:
                        cursor.execute(statement, rows[0])
                    else:
                        cursor.executemany(statement, rows)

        def work(conn: psycopg.Connection[Any]) -> None:
            if self._bound.depth:
                run(conn)  # part of the thread's transaction, committed (and announced) when it ends
                self._bound.notices.extend(batch.notices)
            else:
                with conn.transaction():
                    run(conn)
                _notify(conn, batch.notices)

        if not groups and not batch.notices:
            if self._closed:
                raise Unavailable("the store is closed")
            return
        self._call(work)

    def sync(self) -> None:
        # Nothing to do: every write() committed its transaction before returning, and every
        # connection runs with synchronous_commit = on (set when it is opened), so a commit returns
        # only after its WAL record is flushed to disk by the server.
        if self._closed:
            raise Unavailable("the store is closed")

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.close()
            if self._watch_thread is not None:
                self._watch_thread.join(timeout=2)

    def ping(self, timeout: float = _PING_TIMEOUT) -> None:
        """Raises Unavailable unless PostgreSQL answers ``SELECT 1`` now (the health probe's question).

        Idle pooled connections are checked first and the broken ones replaced, so that after
        PostgreSQL restarts, calls meet fresh connections rather than failing once each on a stale one.
        """
        if self._closed:
            raise Unavailable("the store is closed")
        self._pool.check()
        try:
            with self._pool.connection(timeout=timeout) as conn:
                conn.execute("SELECT 1")
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise Unavailable(f"PostgreSQL is unavailable: {exc}") from exc
        except (psycopg_pool.PoolTimeout, psycopg_pool.PoolClosed) as exc:
            raise Unavailable(f"no PostgreSQL connection: {exc}") from exc


def _notify(conn: psycopg.Connection[Any], notices: list[str]) -> None:
    """Sends notices after their commit; a failure is logged, never raised: the write is committed,
    and watchers look at everything every few seconds anyway."""
    if not notices:
        return
    try:
        conn.execute(_NOTIFY, (CHANNEL, list(dict.fromkeys(notices))))
    except psycopg.Error as exc:
        log.warning("could not announce a commit to other servers (they see it within %g s): %s", _WATCH_SWEEP, exc)


def _unavailable(exc: psycopg.Error) -> Unavailable:
    if isinstance(exc, psycopg.errors.TransactionRollback):  # deadlock or serialization failure
        return Unavailable(f"PostgreSQL aborted a conflicting transaction: {exc}", retry_delay=_CONFLICT_RETRY)
    return Unavailable(f"PostgreSQL is unavailable: {exc}")
