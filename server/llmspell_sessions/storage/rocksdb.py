"""The RocksDB backend (rocksdict, raw mode, one column family per record kind)."""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

import rocksdict

from ..errors import Unavailable
from .base import COLUMN_FAMILIES, DELETE, PUT, ProcessTransactions, Row, Watcher, WriteBatch, prefix_end

_BLOCK_CACHE_BYTES = 64 * 1024 * 1024
log = logging.getLogger(__name__)
_REOPEN_FREE_BYTES = 16 * 1024 * 1024  # reopening writes a manifest and options: not on a full disk


def _family_options(cache: rocksdict.Cache) -> rocksdict.Options:
    options = rocksdict.Options(raw_mode=True)
    table = rocksdict.BlockBasedOptions()
    # Bloom filters make a lookup of a missing key (dedup probes, request ids) ~1.5 µs.
    table.set_bloom_filter(10, False)
    table.set_block_cache(cache)
    table.set_cache_index_and_filter_blocks(True)
    options.set_block_based_table_factory(table)
    options.set_compression_type(rocksdict.DBCompressionType.lz4())
    return options


class RocksDBStorage:
    """Storage in a RocksDB directory; every WriteBatch is atomic across column families."""

    shared = False  # one process owns the store

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        os.makedirs(self.path, exist_ok=True)
        self._cache = rocksdict.Cache(_BLOCK_CACHE_BYTES)
        self._sync_options = rocksdict.WriteOptions()
        self._sync_options.sync = True
        self._closed = False
        self._transactions = ProcessTransactions()
        self._failed = False  # a write failed (disk full...): RocksDB refuses writes until reopened
        self._db: Any = None
        self._families: dict[str, Any] = {}
        self._handles: dict[str, Any] = {}
        self._reopen_lock = threading.Lock()
        self._open()

    def _open(self) -> None:
        options = _family_options(self._cache)
        options.create_if_missing(True)
        options.create_missing_column_families(True)
        options.increase_parallelism(2)
        options.set_keep_log_file_num(4)
        families = {name: _family_options(self._cache) for name in COLUMN_FAMILIES}
        try:
            self._db = rocksdict.Rdict(self.path, options=options, column_families=families)
        except Exception as exc:  # rocksdict raises plain Exception for lock and I/O errors
            raise Unavailable(f"cannot open the store at {self.path}: {exc}", path=self.path) from exc
        self._families = {name: self._db.get_column_family(name) for name in COLUMN_FAMILIES}
        self._handles = {name: self._db.get_column_family_handle(name) for name in COLUMN_FAMILIES}

    def _release(self) -> None:
        """Closes the DB, tolerating the error a failed store reports again on close."""
        # Column-family handles share the DB: drop them all, or the LOCK file stays held.
        self._families = {}
        self._handles = {}
        db, self._db = self._db, None
        if db is None:
            return
        try:
            db.close()
        except Exception as exc:  # noqa: BLE001 - closing after an I/O error repeats that error
            log.warning("closing the store at %s: %s", self.path, exc)
        del db
        gc.collect()  # iterators left in dropped generators still hold the DB (and its LOCK file)

    def _family(self, cf: str) -> Any:
        if self._closed:
            raise Unavailable("the store is closed")
        family = self._families.get(cf)
        if family is None:  # a reopen failed: try again, so reads come back as soon as they can
            self._reopen()
            family = self._families[cf]
        return family

    def _reopen(self) -> None:
        with self._reopen_lock:
            if self._db is None:
                self._open()

    def transaction(self) -> AbstractContextManager[object]:
        return self._transactions.transaction()

    def try_transaction(self) -> AbstractContextManager[object] | None:
        return self._transactions.try_transaction()

    def lock(self, rows: Iterable[Row]) -> None:
        self._transactions.lock(rows)

    def watch(self, watcher: Watcher) -> None:
        """No other process writes this store: there is nothing to watch."""

    def get(self, cf: str, key: bytes) -> bytes | None:
        try:
            return self._family(cf).get(key)
        except Unavailable:
            raise
        except Exception as exc:  # a read during a reopen, or an I/O error
            raise Unavailable(f"the store could not read: {exc}", path=self.path) from exc

    def multi_get(self, cf: str, keys: Sequence[bytes]) -> list[bytes | None]:
        if not keys:
            return []
        try:
            return self._family(cf).get(list(keys))
        except Unavailable:
            raise
        except Exception as exc:
            raise Unavailable(f"the store could not read: {exc}", path=self.path) from exc

    def scan(
        self, cf: str, prefix: bytes, *, start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        read_options = rocksdict.ReadOptions()
        end = prefix_end(prefix)
        if end:
            # rocksdict 0.3 keeps only the bound set last unless the lower one is set first,
            # and ignores a lower bound set alone: set both, lower first.
            read_options.set_iterate_lower_bound(prefix)
            read_options.set_iterate_upper_bound(end)
        iterator = self._family(cf).iter(read_options)
        if reverse:
            if start is not None:
                iterator.seek_for_prev(start)
            else:
                iterator.seek_to_last()
        else:
            iterator.seek(prefix if start is None or start < prefix else start)
        step = iterator.prev if reverse else iterator.next
        while iterator.valid():
            key = iterator.key()
            if not key.startswith(prefix):  # only reached when the prefix has no upper bound
                break
            yield key, iterator.value()
            step()

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        if self._closed:
            raise Unavailable("the store is closed")
        if self._failed and _free_bytes(self.path) >= _REOPEN_FREE_BYTES:
            # Space is back: RocksDB only lets go of a write error when the store is reopened.
            self._release()
            self._reopen()
            self._failed = False
        native = rocksdict.WriteBatch(raw_mode=True)
        handles = self._handles
        for op, cf, key, value in batch.ops:
            if op == PUT:
                native.put(key, value, handles[cf])
            elif op == DELETE:
                native.delete(key, handles[cf])
            else:
                native.delete_range(key, value or key + b"\xff" * 64, handles[cf])
        try:
            if sync:
                self._db.write(native, self._sync_options)
            else:
                self._db.write(native)
        except Exception as exc:  # disk full, read-only file system, I/O errors
            self._failed = True
            raise Unavailable(f"the store refused a write: {exc}", path=self.path) from exc

    def sync(self) -> None:
        if self._closed or self._db is None:
            raise Unavailable("the store is closed or reopening")
        try:
            self._db.flush_wal(True)
        except Exception as exc:
            raise Unavailable(f"the store could not sync: {exc}", path=self.path) from exc

    def checkpoint(self, path: str | os.PathLike[str]) -> None:
        """A consistent copy of the database at ``path`` (a new directory): SST files hard-linked,
        the rest copied. Call inside transaction() to exclude every commit."""
        try:
            rocksdict.Checkpoint(self._db).create_checkpoint(os.fspath(path))
        except Exception as exc:  # rocksdict raises plain Exception for I/O errors
            raise Unavailable(f"cannot checkpoint the store at {self.path}: {exc}", path=self.path) from exc

    def close(self) -> None:
        with self._transactions.transaction():  # after the transactions in flight
            if not self._closed:
                self._closed = True
                self._release()


def _free_bytes(path: str) -> int:
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize
