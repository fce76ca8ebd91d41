"""The storage ceilings: raw rocksdict and a plain fsync'd file, with nothing of the engine on top.

Each method is one operation, shaped like the engine's: keys about as long as a session key and
values about as big as an encoded session record. The store is opened as the engine opens its own
(raw mode, bloom filters, LZ4) but with one default column family.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import rocksdict

KEY_BYTES = 44  # tenant · session id, like keys.session_key
VALUE_BYTES = 160  # an encoded Session record is ~150 bytes
MULTI_GET_KEYS = 64
FILE_WRITE_BYTES = 4096


class RawRocks:
    """A bare rocksdict store in a directory, pre-filled so that reads hit existing keys."""

    def __init__(self, path: Path, prefill: int = 10_000) -> None:
        options = rocksdict.Options(raw_mode=True)
        options.create_if_missing(True)
        table = rocksdict.BlockBasedOptions()
        table.set_bloom_filter(10, False)
        options.set_block_based_table_factory(table)
        options.set_compression_type(rocksdict.DBCompressionType.lz4())
        self.db = rocksdict.Rdict(str(path), options=options)
        self.sync_options = rocksdict.WriteOptions()
        self.sync_options.sync = True
        self.value = os.urandom(VALUE_BYTES)
        self.keys = [self.key(i) for i in range(prefill)]
        for key in self.keys:
            self.db.put(key, self.value)
        self._writes = itertools.count(prefill)
        self._reads = itertools.cycle(self.keys)
        groups = [self.keys[i : i + MULTI_GET_KEYS] for i in range(0, prefill - MULTI_GET_KEYS + 1, MULTI_GET_KEYS)]
        self._groups: Iterator[Any] = itertools.cycle(groups)

    @staticmethod
    def key(i: int) -> bytes:
        """The i-th key, KEY_BYTES long."""
        return f"default\x00{i:036d}".encode()

    def put(self) -> None:
        """One new key through the WAL, no sync."""
        self.db.put(self.key(next(self._writes)), self.value)

    def put_sync(self) -> None:
        """One new key, WAL synced before returning (WriteOptions.sync=True)."""
        self.db.put(self.key(next(self._writes)), self.value, self.sync_options)

    def get(self) -> None:
        """One existing key."""
        self.db.get(next(self._reads))

    def multi_get(self) -> None:
        """MULTI_GET_KEYS existing keys in one call."""
        self.db.get(next(self._groups))

    def close(self) -> None:
        self.db.close()


class SyncedFile:
    """A plain file rewritten FILE_WRITE_BYTES at a time, each write followed by fsync."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        self.data = os.urandom(FILE_WRITE_BYTES)
        self._offsets = itertools.cycle(range(0, 256 * FILE_WRITE_BYTES, FILE_WRITE_BYTES))

    def write(self) -> None:
        """One 4 KiB pwrite and fsync."""
        os.pwrite(self.fd, self.data, next(self._offsets))
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)
