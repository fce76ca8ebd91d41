"""ContentStore: chunk records (``chunks`` CF), reference counts (``refcounts`` CF) and GC.

Reference counts exist twice: globally per digest (what GC looks at) and per tenant and digest (what
a tenant may see: a digest it holds no reference to is "missing" for it even when another tenant
stored the same bytes, so deduplication never reveals another tenant's content). Counts change only
inside the WriteBatch of the artifact that takes or drops the reference. A digest whose global count
reaches zero is queued in the ``gc`` CF and collected after a grace period unless it is pinned by an
upload in progress or referenced again meanwhile.
"""

from __future__ import annotations

import struct
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from blake3 import blake3

from ..errors import DataLoss
from ..storage import BlobStore, Storage, WriteBatch
from .pipeline import decompress_chunk

_RECORD = struct.Struct("<16sIIB")  # location, stored size, logical size, flags
_COUNT = struct.Struct("<q")
_FLAG_COMPRESSED = 1


@dataclass(frozen=True, slots=True)
class ChunkRecord:
    """Where a chunk's bytes are and how they are stored."""

    location: bytes
    stored_size: int
    size: int
    compressed: bool

    def encode(self) -> bytes:
        return _RECORD.pack(self.location, self.stored_size, self.size, _FLAG_COMPRESSED if self.compressed else 0)

    @classmethod
    def decode(cls, data: bytes) -> ChunkRecord:
        location, stored, size, flags = _RECORD.unpack(data)
        return cls(location, stored, size, bool(flags & _FLAG_COMPRESSED))


def tenant_ref_key(tenant: str, digest: bytes) -> bytes:
    return tenant.encode() + b"\x00" + digest


def _count(raw: bytes | None) -> int:
    return _COUNT.unpack(raw)[0] if raw else 0


class ContentStore:
    """Chunk bytes by digest, with reference counting shared by every artifact of every session."""

    def __init__(self, storage: Storage, blobs: BlobStore) -> None:
        self.storage = storage
        self.blobs = blobs
        self._pins: Counter[bytes] = Counter()
        self._pin_lock = threading.Lock()

    # -- lookups ----------------------------------------------------------------------------------

    def records(self, digests: Sequence[bytes]) -> list[ChunkRecord | None]:
        return [ChunkRecord.decode(r) if r else None for r in self.storage.multi_get("chunks", digests)]

    def tenant_counts(self, tenant: str, digests: Sequence[bytes]) -> list[int]:
        raw = self.storage.multi_get("refcounts", [tenant_ref_key(tenant, d) for d in digests])
        return [_count(r) for r in raw]

    def global_count(self, digest: bytes) -> int:
        return _count(self.storage.get("refcounts", digest))

    # -- pins: chunks an upload in progress relies on ------------------------------------------------

    def pin(self, digests: Iterable[bytes]) -> None:
        with self._pin_lock:
            self._pins.update(digests)

    def unpin(self, digests: Iterable[bytes]) -> None:
        with self._pin_lock:
            self._pins.subtract(digests)
            for digest in [d for d, n in self._pins.items() if n <= 0]:
                del self._pins[digest]

    def pinned(self, digest: bytes) -> bool:
        return self._pins.get(digest, 0) > 0

    # -- writes (always inside the caller's batch) ---------------------------------------------------

    def add_references(self, batch: WriteBatch, tenant: str, occurrences: Counter[bytes]) -> None:
        """Adds one reference per occurrence; revives queued digests."""
        self._change(batch, tenant, occurrences, +1, now_us=0)

    def drop_references(
        self, batch: WriteBatch, tenant: str, occurrences: Counter[bytes], now_us: int, grace_us: int
    ) -> None:
        """Drops references; digests left unreferenced are queued for GC after the grace period."""
        self._change(batch, tenant, occurrences, -1, now_us + grace_us)

    def _change(self, batch: WriteBatch, tenant: str, occurrences: Counter[bytes], sign: int, now_us: int) -> None:
        digests = sorted(occurrences)
        if not digests:
            return
        global_counts = self.storage.multi_get("refcounts", digests)
        tenant_keys = [tenant_ref_key(tenant, d) for d in digests]
        tenant_counts = self.storage.multi_get("refcounts", tenant_keys)
        for digest, tenant_key, raw_global, raw_tenant in zip(
            digests, tenant_keys, global_counts, tenant_counts, strict=True
        ):
            delta = sign * occurrences[digest]
            new_global, new_tenant = max(_count(raw_global) + delta, 0), max(_count(raw_tenant) + delta, 0)
            if new_tenant:
                batch.put("refcounts", tenant_key, _COUNT.pack(new_tenant))
            else:
                batch.delete("refcounts", tenant_key)
            batch.put("refcounts", digest, _COUNT.pack(new_global))
            if new_global == 0:
                batch.put("gc", digest, _COUNT.pack(now_us))
            elif sign > 0:
                batch.delete("gc", digest)

    # -- reads ----------------------------------------------------------------------------------------

    def read_chunk(self, digest: bytes, record: ChunkRecord | None = None) -> bytes:
        """A chunk's logical bytes, verified against its digest (DataLoss when they do not match)."""
        if record is None:
            found = self.records([digest])[0]
            if found is None:
                raise DataLoss(f"chunk {digest.hex()} is missing", digest=digest.hex())
            record = found
        try:
            stored = self.blobs.read(record.location)
        except DataLoss:
            moved = self.records([digest])[0]  # compaction may have moved it since record was read
            if moved is None or moved.location == record.location:
                raise
            record, stored = moved, self.blobs.read(moved.location)
        try:
            data = decompress_chunk(stored, record.size) if record.compressed else stored
        except Exception as exc:  # lz4 raises LZ4BlockError on corrupt input
            raise DataLoss(f"chunk {digest.hex()} cannot be decompressed", digest=digest.hex()) from exc
        if len(data) != record.size or blake3(data).digest() != digest:
            raise DataLoss(f"chunk {digest.hex()} fails its digest check", digest=digest.hex())
        return data

    # -- garbage collection -----------------------------------------------------------------------

    def collect(self, now_us: int, lock: threading.RLock, limit: int = 10000) -> int:
        """Deletes chunks unreferenced since before now_us and not pinned; returns how many."""
        due = []
        for digest, raw in self.storage.scan("gc", b""):
            if _count(raw) <= now_us:
                due.append(digest)
            if len(due) >= limit:
                break
        collected = 0
        for start in range(0, len(due), 512):
            with lock:
                batch = WriteBatch()
                dead = []
                group = due[start : start + 512]
                counts = self.storage.multi_get("refcounts", group)
                records = self.records(group)
                for digest, raw_count, record in zip(group, counts, records, strict=True):
                    if self.pinned(digest):
                        continue  # an upload in progress relies on it: look again next time
                    if _count(raw_count) > 0:
                        batch.delete("gc", digest)  # referenced again: keep
                        continue
                    batch.delete("gc", digest)
                    batch.delete("refcounts", digest)
                    batch.delete("chunks", digest)
                    if record is not None:
                        dead.append(record.location)
                self.storage.write(batch)
            for location in dead:
                self.blobs.dead(location)
            collected += len(dead)
        return collected
