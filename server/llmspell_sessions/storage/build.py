"""The one place that builds the storage stack from configuration."""

from __future__ import annotations

from pathlib import Path

from ..config import SessionManagerConfig
from .base import Storage
from .blobs import BlobStore, MemoryBlobStore, SegmentBlobStore


def build_storage(config: SessionManagerConfig) -> Storage:
    """Opens the backend named by config.storage_backend."""
    if config.storage_backend == "memory":
        from .memory import MemoryStorage

        return MemoryStorage()
    from .rocksdb import RocksDBStorage  # imported late: clients never need rocksdict

    return RocksDBStorage(config.storage_path)


def build_blob_store(config: SessionManagerConfig) -> BlobStore:
    """Where chunk bytes go: segment files beside the RocksDB store, or memory."""
    if config.storage_backend == "memory":
        return MemoryBlobStore()
    return SegmentBlobStore(Path(config.storage_path) / "segments", config.segment_bytes)
