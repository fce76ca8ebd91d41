"""Whether a store (records or chunk bytes) answers now: the question the server's health probe asks
every second."""

from __future__ import annotations

from typing import Any


def ping(storage: Any) -> None:
    """Raises Unavailable unless storage answers now.

    Stores that can become unreachable (PostgreSQL, an object store) have a ``ping()`` method; the
    embedded ones (RocksDB, segment files, memory) answer whenever their process does, so they need
    none and the Storage and BlobStore protocols stay as small as they are.
    """
    check = getattr(storage, "ping", None)
    if check is not None:
        check()
