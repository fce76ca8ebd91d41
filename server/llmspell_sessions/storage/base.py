"""The Storage protocol every backend implements, and the WriteBatch it commits atomically.

Small on purpose: point reads, prefix scans, one atomic batch, durability, and transactions with
row locks, so that a store shared by several server processes (PostgreSQL) keeps every rule the
embedded one keeps.

Transactions: ``with storage.transaction():`` binds the calling thread to one transaction until
the block ends (a nested block joins it). Inside, ``lock(rows)`` takes exclusive locks held until
the transaction ends, reads see every commit of every process that released those locks, and each
``write`` is atomic; the writes become visible to other processes when the outermost block ends
(at once on an embedded store, which holds one process-wide lock for the whole transaction instead
of row locks). A write that failed aborts the transaction: nothing of it is committed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

COLUMN_FAMILIES: tuple[str, ...] = (
    "sessions",
    "session_index",
    "state",
    "artifacts",
    "artifact_names",
    "chunks",
    "refcounts",
    "events",
    "checkpoints",
    "uploads",
    "gc",
    "staged",
    "pins",
)

PUT, DELETE, DELETE_RANGE = 0, 1, 2


@dataclass(slots=True)
class WriteBatch:
    """Puts and deletes over column families, committed all-or-nothing by Storage.write."""

    ops: list[tuple[int, str, bytes, bytes]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    """Sent to other processes' watchers once the batch commits (see Storage.watch)."""

    def put(self, cf: str, key: bytes, value: bytes) -> None:
        self.ops.append((PUT, cf, key, value))

    def delete(self, cf: str, key: bytes) -> None:
        self.ops.append((DELETE, cf, key, b""))

    def delete_prefix(self, cf: str, prefix: bytes) -> None:
        """Deletes every key that starts with prefix."""
        self.ops.append((DELETE_RANGE, cf, prefix, prefix_end(prefix)))

    def notice(self, text: str) -> None:
        """Tells watchers in other processes about this batch once it is committed."""
        if text not in self.notices:
            self.notices.append(text)

    def __len__(self) -> int:
        return len(self.ops)


Row = tuple[str, bytes]
"""A (column family, key) pair: what a lock guards."""
Watcher = Callable[[str], None]
EVERYTHING = "*"
"""The notice a watcher gets when notices may have been missed (a lost connection): look at everything."""


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key starting with prefix (b"" when there is none)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return b""
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


class Storage(Protocol):
    """A transactional ordered key-value store with column families."""

    shared: bool
    """True when other processes write the same store: nothing read outside a lock may be cached."""

    def transaction(self) -> AbstractContextManager[object]:
        """Binds this thread to a transaction until the block ends (see the module docstring)."""

    def try_transaction(self) -> AbstractContextManager[object] | None:
        """A transaction already begun, when one can begin without waiting for another thread and
        runs no network round trip (an embedded store whose lock is free); None otherwise. The
        server runs small writes inline on its event loop only with one (rpc/execution.py)."""

    def lock(self, rows: Iterable[Row]) -> None:
        """Exclusive locks on rows (whether or not they exist), held until the transaction ends."""

    def watch(self, watcher: Watcher) -> None:
        """Calls watcher (on another thread) with the notices of batches other processes commit."""

    def get(self, cf: str, key: bytes) -> bytes | None:
        """The value under key, or None."""

    def multi_get(self, cf: str, keys: Sequence[bytes]) -> list[bytes | None]:
        """Values for many keys in one call, None where missing."""

    def scan(
        self, cf: str, prefix: bytes, *, start: bytes | None = None, reverse: bool = False
    ) -> Iterator[tuple[bytes, bytes]]:
        """Key-value pairs whose keys start with prefix, in key order (or reverse).

        start, when given, is where iteration begins (inclusive); in reverse, the first key
        returned is the greatest one <= start.
        """

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        """Commits every op of batch atomically; with sync, durable on disk before returning."""

    def sync(self) -> None:
        """Makes every write that returned so far durable on disk."""

    def close(self) -> None:
        """Releases the store once the transactions in flight end (an embedded store), or fails
        them (a shared one: nothing of them is committed); later calls fail with Unavailable."""


class ProcessTransactions:
    """Transactions of a store only this process writes: one re-entrant lock held for the whole
    transaction makes every transaction serial, so row locks have nothing left to do."""

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def transaction(self) -> AbstractContextManager[object]:
        return self._lock

    def try_transaction(self) -> AbstractContextManager[object] | None:
        if not self._lock.acquire(blocking=False):
            return None
        return _Held(self._lock)

    def lock(self, rows: Iterable[Row]) -> None:
        """Nothing to take: the transaction holds the process-wide lock."""


class _Held:
    """A lock already acquired, released when the block ends."""

    __slots__ = ("_lock",)

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock

    def __enter__(self) -> object:
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()
