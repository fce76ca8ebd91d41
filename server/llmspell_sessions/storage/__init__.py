"""Storage backends behind one protocol."""

from .base import COLUMN_FAMILIES, Storage, WriteBatch, prefix_end
from .blobs import BlobStore, MemoryBlobStore, SegmentBlobStore
from .build import build_blob_store, build_storage

__all__ = [
    "COLUMN_FAMILIES",
    "BlobStore",
    "MemoryBlobStore",
    "SegmentBlobStore",
    "Storage",
    "WriteBatch",
    "build_blob_store",
    "build_storage",
    "prefix_end",
]
