"""ContentStore: the sole owner of chunks — records, reference counts, pins, staged chunks and GC.

Nothing else reads or writes the ``chunks``, ``refcounts``, ``gc`` and ``staged`` column families.

Reference counts exist twice: globally per digest (what GC looks at) and per tenant and digest (what
a tenant may see: a digest it holds no reference to is "missing" for it even when another tenant
stored the same bytes, so deduplication never reveals another tenant's content). Counts change only
inside a unit of work's batch, folded once per digest (``reference_writes``). A digest whose global
count reaches zero is queued in ``gc`` and collected after a grace period unless it is pinned or
referenced again meanwhile.

Pins protect chunks an upload found already stored, between that lookup and its commit. Order
matters: pin first, then look the records up. Collection checks pins and deletes under the pin
lock, so a chunk is either pinned before GC looks at it (kept) or gone before the lookup (stored
again by the upload).

Staged chunks (UploadChunks, for a later CommitArtifact) hold one reference of their tenant until
a commit consumes them or they expire; their bytes count against the tenant's quota meanwhile.
"""

from __future__ import annotations

import struct
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from blake3 import blake3

from ..errors import DataLoss
from ..storage import BlobStore, Storage, WriteBatch, keys
from .pipeline import decompress_chunk

_RECORD = struct.Struct("<16sIIB")  # location, stored size, logical size, flags
_COUNT = struct.Struct("<q")
_STAGED = struct.Struct("<qq")  # expiry (µs), logical size
_FLAG_COMPRESSED = 1
_GC_GROUP = 512


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


@dataclass(frozen=True, slots=True)
class StagedChunk:
    """A chunk a tenant uploaded ahead of its commit."""

    tenant: str
    digest: bytes
    size: int


def _count(raw: bytes | None) -> int:
    return _COUNT.unpack(raw)[0] if raw else 0


class ContentStore:
    """Chunk bytes by digest, with reference counting shared by every artifact of every session."""

    def __init__(self, storage: Storage, blobs: BlobStore, grace_seconds: float) -> None:
        self.storage = storage
        self.blobs = blobs
        self.grace_us = int(grace_seconds * 1_000_000)
        self._pins: Counter[bytes] = Counter()
        self._pin_lock = threading.Lock()

    # -- lookups ----------------------------------------------------------------------------------

    def records(self, digests: Sequence[bytes]) -> list[ChunkRecord | None]:
        return [ChunkRecord.decode(r) if r else None for r in self.storage.multi_get("chunks", digests)]

    def tenant_counts(self, tenant: str, digests: Sequence[bytes]) -> list[int]:
        raw = self.storage.multi_get("refcounts", [keys.tenant_ref_key(tenant, d) for d in digests])
        return [_count(r) for r in raw]

    def global_count(self, digest: bytes) -> int:
        return _count(self.storage.get("refcounts", digest))

    def staged(self, tenant: str, digests: Sequence[bytes]) -> list[int | None]:
        """The logical size of each digest the tenant has staged, None where it has not."""
        raw = self.storage.multi_get("staged", [keys.staged_key(tenant, d) for d in digests])
        return [_STAGED.unpack(r)[1] if r else None for r in raw]

    # -- pins ---------------------------------------------------------------------------------------

    def pin(self, digests: Iterable[bytes]) -> None:
        with self._pin_lock:
            self._pins.update(digests)

    def unpin(self, digests: Iterable[bytes]) -> None:
        with self._pin_lock:
            self._pins.subtract(digests)
            for digest in [d for d, n in self._pins.items() if n <= 0]:
                del self._pins[digest]

    @contextmanager
    def pinned(self, digests: Sequence[bytes]) -> Iterator[None]:
        self.pin(digests)
        try:
            yield
        finally:
            self.unpin(digests)

    # -- writes (always inside a unit of work's batch) -------------------------------------------------

    def put_new_chunks(self, batch: WriteBatch, records: dict[bytes, ChunkRecord]) -> None:
        """Adds records for chunks whose bytes were just appended and synced (unless another writer
        stored the same chunk meanwhile: the first record stands)."""
        digests = list(records)
        for digest, present in zip(digests, self.records(digests), strict=True):
            if present is None:
                batch.put("chunks", digest, records[digest].encode())

    def reference_writes(self, batch: WriteBatch, tenant: str, delta: Counter[bytes], now_us: int) -> None:
        """Adds the final counts after a tenant's reference changes; unreferenced digests are queued
        for GC after the grace period, referenced ones leave the queue."""
        digests = sorted(d for d, n in delta.items() if n)
        if not digests:
            return
        tenant_keys = [keys.tenant_ref_key(tenant, d) for d in digests]
        global_counts = self.storage.multi_get("refcounts", digests)
        tenant_counts = self.storage.multi_get("refcounts", tenant_keys)
        for digest, tenant_key, raw_global, raw_tenant in zip(
            digests, tenant_keys, global_counts, tenant_counts, strict=True
        ):
            change = delta[digest]
            new_global, new_tenant = max(_count(raw_global) + change, 0), max(_count(raw_tenant) + change, 0)
            if new_tenant:
                batch.put("refcounts", tenant_key, _COUNT.pack(new_tenant))
            else:
                batch.delete("refcounts", tenant_key)
            batch.put("refcounts", digest, _COUNT.pack(new_global))
            if new_global == 0:
                batch.put("gc", digest, _COUNT.pack(now_us + self.grace_us))
            else:
                batch.delete("gc", digest)

    def stage(self, batch: WriteBatch, tenant: str, digest: bytes, size: int, expires_us: int) -> None:
        batch.put("staged", keys.staged_key(tenant, digest), _STAGED.pack(expires_us, size))

    def unstage(self, batch: WriteBatch, tenant: str, digest: bytes) -> None:
        batch.delete("staged", keys.staged_key(tenant, digest))

    def expired_staged(self, now_us: int, limit: int = 10000) -> list[StagedChunk]:
        """Staged chunks whose reservation ran out (a full scan: staging is short-lived and rare)."""
        found = []
        for key, raw in self.storage.scan("staged", b""):
            expires, size = _STAGED.unpack(raw)
            if expires <= now_us:
                tenant, _, digest = key.partition(b"\x00")
                found.append(StagedChunk(tenant.decode(), digest, size))
                if len(found) >= limit:
                    break
        return found

    # -- reads --------------------------------------------------------------------------------------

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

    # -- garbage collection ---------------------------------------------------------------------------

    def collect(self, now_us: int, lock: threading.RLock, limit: int = 10000) -> int:
        """Deletes chunks unreferenced since before now_us and not pinned; returns how many."""
        due = []
        for digest, raw in self.storage.scan("gc", b""):
            if _count(raw) <= now_us:
                due.append(digest)
            if len(due) >= limit:
                break
        collected = 0
        for start in range(0, len(due), _GC_GROUP):
            group = due[start : start + _GC_GROUP]
            with lock, self._pin_lock:  # see the module docstring: pins and deletes never interleave
                dead = self._collect_group(group)
            for location in dead:
                self.blobs.dead(location)
            collected += len(dead)
        return collected

    def _collect_group(self, group: list[bytes]) -> list[bytes]:
        batch = WriteBatch()
        dead = []
        counts = self.storage.multi_get("refcounts", group)
        for digest, raw_count, record in zip(group, counts, self.records(group), strict=True):
            if self._pins.get(digest, 0) > 0:
                continue  # an upload in progress relies on it: look again next time
            batch.delete("gc", digest)
            if _count(raw_count) > 0:
                continue  # referenced again: keep
            batch.delete("refcounts", digest)
            batch.delete("chunks", digest)
            if record is not None:
                dead.append(record.location)
        self.storage.write(batch)
        return dead

    def chunk_records(self) -> Iterator[tuple[bytes, ChunkRecord]]:
        """Every chunk record (for compaction and checks)."""
        for digest, raw in self.storage.scan("chunks", b""):
            yield digest, ChunkRecord.decode(raw)
