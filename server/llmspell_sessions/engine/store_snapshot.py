"""A point-in-time copy of the embedded store (RocksDB and its segment files), the source of backups.

Taken under the store's transaction lock, so no commit falls between the RocksDB checkpoint and the
segment links: every chunk a record of the checkpoint references is in a linked segment, within the
size recorded for it (chunk bytes are synced before the record that references them commits). Both
are hard links on the store's filesystem, so taking a snapshot costs milliseconds whatever the size.
A shared store (PostgreSQL + an object store) is backed up with those systems' own tools.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import Unimplemented
from ..storage import BlobStore, SegmentBlobStore, Storage
from ..storage.rocksdb import RocksDBStorage

SEGMENTS = "segments"
STAGING = "backup-staging"


def take_snapshot(storage: Storage, blobs: BlobStore) -> tuple[Path, dict[str, int]]:
    """A snapshot in a new directory inside the store's (the same filesystem: hard links), and
    {relative path: size} of its files; the caller removes the directory's parent when done."""
    if not isinstance(storage, RocksDBStorage) or not isinstance(blobs, SegmentBlobStore):
        raise Unimplemented(
            "backups cover the embedded store (RocksDB and segment files); back up PostgreSQL and the "
            "object store with their own tools"
        )
    staging = Path(storage.path) / STAGING
    staging.mkdir(exist_ok=True)
    target = Path(tempfile.mkdtemp(dir=staging)) / "store"
    with storage.transaction():
        storage.checkpoint(target)
        segments = blobs.link_segments(target / SEGMENTS)
    files = {f"{SEGMENTS}/{name}": size for name, size in segments.items()}
    for path in sorted(target.iterdir()):
        if path.is_file():
            files[path.name] = os.stat(path).st_size
    return target, files
