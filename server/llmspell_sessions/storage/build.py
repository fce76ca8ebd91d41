"""The one place that builds the storage stack from configuration."""

from __future__ import annotations

from pathlib import Path

from .. import tracing
from ..config import SessionManagerConfig
from .base import Storage
from .blobs import BlobStore, MemoryBlobStore, SegmentBlobStore


def build_storage(config: SessionManagerConfig) -> Storage:
    """Opens the backend named by config.storage_backend."""
    if config.storage_backend == "memory":
        from .memory import MemoryStorage

        return MemoryStorage()
    if config.storage_backend == "postgres":
        from .postgres import PostgresStorage  # imported late: only this backend needs psycopg

        return PostgresStorage(config.postgres_dsn)
    from .rocksdb import RocksDBStorage  # imported late: clients never need rocksdict

    return RocksDBStorage(config.storage_path)


def build_blob_store(config: SessionManagerConfig) -> BlobStore:
    """Where chunk bytes go (config.blob_store): segment files under storage_path, memory, or an
    S3-compatible object store; by default segments, or memory with the memory backend. Wrapped in
    TracedBlobStore while tracing is on."""
    store = _blob_store(config)
    if tracing.enabled():
        from .traced_blobs import TracedBlobStore

        return TracedBlobStore(store)
    return store


def _blob_store(config: SessionManagerConfig) -> BlobStore:
    kind = config.blob_store or ("memory" if config.storage_backend == "memory" else "segments")
    if kind == "s3":
        from .s3blobs import S3BlobStore  # imported late: only this store needs obstore

        return S3BlobStore(config.s3_endpoint, config.s3_bucket, config.s3_prefix)
    if kind == "memory":
        return MemoryBlobStore()
    return SegmentBlobStore(Path(config.storage_path) / "segments", config.segment_bytes)
