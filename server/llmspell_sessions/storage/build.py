"""The one place that builds the storage stack from configuration."""

from __future__ import annotations

from ..config import SessionManagerConfig
from .base import Storage


def build_storage(config: SessionManagerConfig) -> Storage:
    """Opens the backend named by config.storage_backend."""
    if config.storage_backend == "memory":
        from .memory import MemoryStorage

        return MemoryStorage()
    from .rocksdb import RocksDBStorage  # imported late: clients never need rocksdict

    return RocksDBStorage(config.storage_path)
