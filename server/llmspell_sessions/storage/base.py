"""The Storage protocol every backend implements, and the WriteBatch it commits atomically.

Small on purpose (point reads, prefix scans, one atomic batch, durability), so that a distributed
backend (e.g. PostgreSQL) can implement it later.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
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
)

PUT, DELETE, DELETE_RANGE = 0, 1, 2


@dataclass(slots=True)
class WriteBatch:
    """Puts and deletes over column families, committed all-or-nothing by Storage.write."""

    ops: list[tuple[int, str, bytes, bytes]] = field(default_factory=list)

    def put(self, cf: str, key: bytes, value: bytes) -> None:
        self.ops.append((PUT, cf, key, value))

    def delete(self, cf: str, key: bytes) -> None:
        self.ops.append((DELETE, cf, key, b""))

    def delete_prefix(self, cf: str, prefix: bytes) -> None:
        """Deletes every key that starts with prefix."""
        self.ops.append((DELETE_RANGE, cf, prefix, prefix_end(prefix)))

    def __len__(self) -> int:
        return len(self.ops)


def prefix_end(prefix: bytes) -> bytes:
    """The smallest key greater than every key starting with prefix (b"" when there is none)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return b""
    return trimmed[:-1] + bytes([trimmed[-1] + 1])


class Storage(Protocol):
    """A transactional ordered key-value store with column families."""

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
        """Releases the store; later calls fail with Unavailable."""
