"""ContentStore: the sole owner of chunks — records, reference counts, pins, staged chunks and GC.

Nothing else reads or writes the ``chunks``, ``refcounts``, ``gc`` and ``staged`` column families.

Reference counts exist twice: globally per digest (what GC looks at) and per tenant and digest (what
a tenant may see: a digest it holds no reference to is "missing" for it even when another tenant
stored the same bytes, so deduplication never reveals another tenant's content). Counts change only
inside a unit of work's batch, folded once per digest (``reference_writes``). A digest whose global
count reaches zero is queued in ``gc`` and collected after a grace period unless it is pinned or
referenced again meanwhile.

Pins protect chunks an upload found already stored, between that lookup and its commit. Order
matters: pin first, then look the records up. Collection checks pins and deletes under the locks
of the chunks' rows (and the pin lock), so a chunk is either pinned before GC looks at it (kept)
or gone before the lookup (stored again by the upload). On a shared store the pins of other
processes count too: a process writes its pins as rows (``pins``: digest + process id → lease
expiry) under the same row locks; a process that dies leaves pins that lapse after PIN_LEASE.
Changes of reference counts and chunk records take the chunks' row locks first, so two processes
never overwrite each other's count.

Staged chunks (UploadChunks, for a later CommitArtifact) hold one reference of their tenant until
a commit consumes them or they expire; their bytes count against the tenant's quota meanwhile.
"""

from __future__ import annotations

import os
import struct
import threading
import time
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
PIN_LEASE_US = 6 * 3600 * 1_000_000  # longer than any upload stream: a dead process's pins lapse after it


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
        self._pin_holder = os.urandom(8)  # this process's pin rows on a shared store

    def lock(self, digests: Iterable[bytes]) -> None:
        """Locks chunk rows until the current storage transaction ends."""
        self.storage.lock(("chunks", d) for d in digests)

    # -- lookups ----------------------------------------------------------------------------------

    def records(self, digests: Sequence[bytes]) -> list[ChunkRecord | None]:
        return [ChunkRecord.decode(r) if r else None for r in self.storage.multi_get("chunks", digests)]

    def reusable(self, digests: Sequence[bytes]) -> list[ChunkRecord | None]:
        """Records an upload may deduplicate against: those of chunks something references. A chunk
        waiting for GC (count 0) counts as missing, and the upload stores its bytes again: if a
        collection deleted its bytes but failed to commit, its record is still there, bytes gone."""
        counts = self.storage.multi_get("refcounts", digests)
        return [
            r if r is not None and _count(n) > 0 else None for r, n in zip(self.records(digests), counts, strict=True)
        ]

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
        digests = list(digests)
        with self._pin_lock:
            first = [d for d in dict.fromkeys(digests) if not self._pins[d]]
            self._pins.update(digests)
        if first and self.storage.shared:
            self._write_pins(first, pinned=True)

    def unpin(self, digests: Iterable[bytes]) -> None:
        with self._pin_lock:
            self._pins.subtract(digests)
            last = [d for d, n in self._pins.items() if n <= 0]
            for digest in last:
                del self._pins[digest]
        if last and self.storage.shared:
            self._write_pins(last, pinned=False)

    def _write_pins(self, digests: list[bytes], *, pinned: bool) -> None:
        batch = WriteBatch()
        expiry = _COUNT.pack(_now_us() + PIN_LEASE_US)
        for digest in digests:
            if pinned:
                batch.put("pins", digest + self._pin_holder, expiry)
            else:
                batch.delete("pins", digest + self._pin_holder)
        with self.storage.transaction():
            self.lock(digests)  # a collection in progress finishes first, or sees the pins
            self.storage.write(batch)

    def _pinned_elsewhere(self, now_us: int) -> set[bytes]:
        """Digests other processes pinned (unlapsed pin rows; this process's own are in _pins)."""
        if not self.storage.shared:
            return set()
        return {key[:-8] for key, raw in self.storage.scan("pins", b"") if _count(raw) > now_us}

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
        stored the same chunk meanwhile and something references it: then that record stands)."""
        digests = list(records)
        self.lock(digests)
        for digest, present in zip(digests, self.reusable(digests), strict=True):
            if present is None:
                batch.put("chunks", digest, records[digest].encode())

    def reference_writes(self, batch: WriteBatch, tenant: str, delta: Counter[bytes], now_us: int) -> None:
        """Adds the final counts after a tenant's reference changes; unreferenced digests are queued
        for GC after the grace period, referenced ones leave the queue."""
        digests = sorted(d for d, n in delta.items() if n)
        if not digests:
            return
        self.lock(digests)
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
            stored = self.blobs.read(digest, record.location)
        except DataLoss:
            moved = self.records([digest])[0]  # compaction may have moved it since record was read
            if moved is None or moved.location == record.location:
                raise
            record, stored = moved, self.blobs.read(digest, moved.location)
        return self._verified(digest, record, stored)

    def read_chunks(self, chunks: Sequence[tuple[bytes, ChunkRecord | None]]) -> Iterator[bytes]:
        """read_chunk for each (digest, record), in order; the blob store may read ahead (an object
        store reads several at once)."""
        known = [(digest, record.location) for digest, record in chunks if record is not None]
        stored = self.blobs.read_many(known)
        for digest, record in chunks:
            if record is None:
                yield self.read_chunk(digest)  # raises DataLoss: no record
                continue
            try:
                body = next(stored)
            except DataLoss:  # compaction may have moved it: read_chunk looks again
                stored = self.blobs.read_many(known[known.index((digest, record.location)) + 1 :])
                yield self.read_chunk(digest, record)
                continue
            yield self._verified(digest, record, body)

    @staticmethod
    def _verified(digest: bytes, record: ChunkRecord, stored: bytes) -> bytes:
        try:
            data = decompress_chunk(stored, record.size) if record.compressed else stored
        except Exception as exc:  # lz4 raises LZ4BlockError on corrupt input
            raise DataLoss(f"chunk {digest.hex()} cannot be decompressed", digest=digest.hex()) from exc
        if len(data) != record.size or blake3(data).digest() != digest:
            raise DataLoss(f"chunk {digest.hex()} fails its digest check", digest=digest.hex())
        return data

    # -- garbage collection ---------------------------------------------------------------------------

    def collect(self, now_us: int, limit: int = 10000) -> int:
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
            # See the module docstring: pins and deletes never interleave. The bytes go while the
            # rows are locked, before the records: an upload that pins a digest afterwards finds no
            # record and stores the bytes again (object stores name them by digest).
            with self.storage.transaction(), self._pin_lock:
                self.lock(group)
                collected += self._collect_group(group, now_us)
        return collected

    def _collect_group(self, group: list[bytes], now_us: int) -> int:
        batch = WriteBatch()
        dead = []
        pinned = self._pinned_elsewhere(now_us)
        counts = self.storage.multi_get("refcounts", group)
        queued = self.storage.multi_get("gc", group)  # read again under the locks
        for digest, raw_count, raw_queued, record in zip(group, counts, queued, self.records(group), strict=True):
            if raw_queued is None or _count(raw_queued) > now_us:
                continue  # referenced again (and perhaps dropped again) since the scan
            if self._pins.get(digest, 0) > 0 or digest in pinned:
                continue  # an upload in progress relies on it: look again next time
            batch.delete("gc", digest)
            if _count(raw_count) > 0:
                continue  # referenced again: keep
            batch.delete("refcounts", digest)
            batch.delete("chunks", digest)
            if record is not None:
                dead.append((digest, record.location))
        for digest, location in dead:
            self.blobs.dead(digest, location)
        self.storage.write(batch)
        return len(dead)

    def chunk_records(self) -> Iterator[tuple[bytes, ChunkRecord]]:
        """Every chunk record (for compaction and checks)."""
        for digest, raw in self.storage.scan("chunks", b""):
            yield digest, ChunkRecord.decode(raw)


def _now_us() -> int:
    return time.time_ns() // 1000
