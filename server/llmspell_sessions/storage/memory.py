"""The in-memory backend: sorted keys per column family, for tests and throwaway use."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager

from ..errors import Unavailable
from .base import COLUMN_FAMILIES, DELETE, PUT, ProcessTransactions, Row, Watcher, WriteBatch, prefix_end


class _Family:
    """One column family: a dict for lookups and a sorted key list for scans."""

    __slots__ = ("values", "keys")

    def __init__(self) -> None:
        self.values: dict[bytes, bytes] = {}
        self.keys: list[bytes] = []

    def put(self, key: bytes, value: bytes) -> None:
        if key not in self.values:
            bisect.insort(self.keys, key)
        self.values[key] = value

    def delete(self, key: bytes) -> None:
        if self.values.pop(key, None) is not None:
            del self.keys[bisect.bisect_left(self.keys, key)]

    def delete_range(self, start: bytes, end: bytes) -> None:
        lo = bisect.bisect_left(self.keys, start)
        hi = bisect.bisect_left(self.keys, end) if end else len(self.keys)
        for key in self.keys[lo:hi]:
            del self.values[key]
        del self.keys[lo:hi]


class MemoryStorage:
    """Storage kept in process memory; lost on exit. Passes the same conformance suite as RocksDB."""

    shared = False  # one process owns the store

    def __init__(self) -> None:
        self._families = {name: _Family() for name in COLUMN_FAMILIES}
        self._lock = threading.Lock()
        self._closed = False
        self._transactions = ProcessTransactions()

    def _family(self, cf: str) -> _Family:
        if self._closed:
            raise Unavailable("the store is closed")
        return self._families[cf]

    def transaction(self) -> AbstractContextManager[object]:
        return self._transactions.transaction()

    def try_transaction(self) -> AbstractContextManager[object] | None:
        return self._transactions.try_transaction()

    def lock(self, rows: Iterable[Row]) -> None:
        self._transactions.lock(rows)

    def watch(self, watcher: Watcher) -> None:
        """No other process writes this store: there is nothing to watch."""

    def get(self, cf: str, key: bytes) -> bytes | None:
        return self._family(cf).values.get(key)

    def multi_get(self, cf: str, keys: Sequence[bytes]) -> list[bytes | None]:
        values = self._family(cf).values
        return [values.get(k) for k in keys]

    def scan(
        self, cf: str, prefix: bytes, *, start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        family = self._family(cf)
        end = prefix_end(prefix)
        with self._lock:
            keys = family.keys
            lo = bisect.bisect_left(keys, prefix)
            hi = bisect.bisect_left(keys, end) if end else len(keys)
            if start is not None:
                if reverse:
                    hi = min(hi, bisect.bisect_right(keys, start))
                else:
                    lo = max(lo, bisect.bisect_left(keys, start))
            selected = keys[lo:hi]
        if reverse:
            selected.reverse()
        for key in selected:
            value = family.values.get(key)
            if value is not None:
                yield key, value

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        families = [self._family(cf) for _, cf, _, _ in batch.ops] if batch.ops else [self._family("sessions")]
        with self._lock:  # names were checked above, so the batch applies whole
            for (op, _, key, value), family in zip(batch.ops, families, strict=False):
                if op == PUT:
                    family.put(key, value)
                elif op == DELETE:
                    family.delete(key)
                else:
                    family.delete_range(key, value)

    def sync(self) -> None:
        self._family(COLUMN_FAMILIES[0])

    def close(self) -> None:
        with self._transactions.transaction():  # after the transactions in flight
            self._closed = True
