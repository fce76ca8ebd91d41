"""Client-side chunking: FindMissingChunks, UploadChunks (staging) and CommitArtifact.

Every answer is the caller's tenant's own view: a chunk another tenant stores is "missing" and costs
its full stored size, exactly as if nobody held it, so deduplication reveals nothing across tenants
(the stored form of a chunk depends on its bytes alone: see cas/pipeline.py).

Every chunk uploaded is staged: it holds a reference of its tenant (so a commit within 24 hours finds
it, whatever was deleted meanwhile) and counts against the tenant's byte quota until a commit uses it
(the artifact's references replace the staging) or it expires.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from blake3 import blake3

from ...cas import ChunkRecord, ContentStore
from ...cas.pipeline import compress_chunk
from ...errors import IntegrityError, InvalidArgument, MissingChunks
from ...model import Artifact, Caller, UploadHeader
from ...tracing import span
from .. import validation
from ..admission import WRITE, Admission, system_caller
from ..codec import now, to_micros
from ..limits import MAX_CHUNK_BYTES, MAX_COMMIT_CHUNKS, STAGED_TTL_SECONDS, Limits
from ..records import TENANT_STAGED, SessionRecords
from ..sessions import require_active
from ..unit_of_work import UnitOfWork, Units
from .store import ArtifactStore, Finisher, NewContent, validated_header


class ChunkStaging:
    """One UploadChunks stream: verified chunks in, one fsync and one commit at the end."""

    def __init__(self, chunks: ChunkUploads, caller: Caller) -> None:
        self._owner = chunks
        self.caller = caller
        self._received: dict[bytes, tuple[int, ChunkRecord | None, int]] = {}  # digest -> size, new record, stored
        self._pins: list[bytes] = []
        self._used = chunks.records.tenant_usage(caller.tenant)
        self.chunks = 0

    def add(self, digest_text: str, data: bytes) -> None:
        """Verifies and stores one chunk's bytes (not yet visible)."""
        digest = validation.digest(digest_text)
        if not data or len(data) > MAX_CHUNK_BYTES:
            raise InvalidArgument(f"chunks are 1 to {MAX_CHUNK_BYTES} bytes", field="data")
        with span("cas.hash", chunks=1):
            matches = blake3(data).digest() == digest
        if not matches:
            raise IntegrityError("chunk bytes do not match their digest", digest=digest_text)
        self.chunks += 1
        if digest in self._received:
            return
        content = self._owner.content
        content.pin([digest])  # before the lookup (see ContentStore)
        self._pins.append(digest)
        if content.staged(self.caller.tenant, [digest])[0] is None:
            # What staging will add (a new reservation, see stage), checked early as bytes arrive.
            self._used += len(data)
            self._owner.limits.tenant_bytes(self.caller.tenant, self._used)
        record = content.reusable([digest])[0]
        if record is None:
            with span("cas.compress", chunks=1):
                body, compressed = compress_chunk(data, self._owner.threshold)
            location = content.blobs.append([(digest, body)])[0]
            new = ChunkRecord(location, len(body), len(data), compressed)
            self._received[digest] = (len(data), new, len(body))
        else:
            self._received[digest] = (len(data), None, record.stored_size)

    def finish(self) -> tuple[int, int]:
        """Commits the stream: (chunks received, bytes the tenant now stores that it did not)."""
        try:
            return self._owner.stage(self.caller, self._received, self.chunks)
        finally:
            self.abort()

    def abort(self) -> None:
        self._owner.content.unpin(self._pins)
        self._pins = []


class ChunkUploads:
    """FindMissingChunks, UploadChunks and CommitArtifact over the artifact store."""

    def __init__(
        self,
        units: Units,
        records: SessionRecords,
        content: ContentStore,
        store: ArtifactStore,
        admission: Admission,
        limits: Limits,
        threshold: int,
    ) -> None:
        self._units = units
        self.records = records
        self.content = content
        self._store = store
        self._admission = admission
        self.limits = limits
        self.threshold = threshold

    def find_missing(self, caller: Caller, digests: Sequence[str]) -> list[str]:
        """The digests this tenant holds no reference to (another tenant's chunks count as missing)."""
        raw = [validation.digest(d, "digests") for d in digests]
        counts = self.content.tenant_counts(caller.tenant, raw)
        return [d.hex() for d, n in zip(raw, counts, strict=True) if n == 0]

    def begin(self, caller: Caller) -> ChunkStaging:
        return ChunkStaging(self, caller)

    def upload(self, caller: Caller, chunks: Iterable[tuple[str, bytes]]) -> tuple[int, int]:
        """Stores verified chunks for a later CommitArtifact; returns (chunks received, bytes stored)."""
        staging = self.begin(caller)
        try:
            for digest, data in chunks:
                staging.add(digest, data)
        except BaseException:
            staging.abort()
            raise
        return staging.finish()

    def stage(
        self, caller: Caller, received: dict[bytes, tuple[int, ChunkRecord | None, int]], count: int
    ) -> tuple[int, int]:
        if not received:
            return count, 0
        self.content.blobs.sync()  # one fsync for the whole stream, before any record points at it
        digests = list(received)
        expires = to_micros(now()) + STAGED_TTL_SECONDS * 1_000_000
        stored = 0
        with self._units.begin(caller) as uow:
            uow.lock_chunks(digests)
            self.content.put_new_chunks(uow.batch, {d: r for d, (_, r, _) in received.items() if r is not None})
            held = self.content.tenant_counts(caller.tenant, digests)
            staged = self.content.staged(caller.tenant, digests)
            for digest, count_held, staged_size in zip(digests, held, staged, strict=True):
                size, _, stored_size = received[digest]
                self.content.stage(uow.batch, caller.tenant, digest, size, expires)  # (re)new the reservation
                if staged_size is None:  # a new reservation holds a reference until a commit uses it
                    uow.take(caller.tenant, Counter([digest]))
                    uow.count(caller.tenant, TENANT_STAGED, size)
                if count_held == 0:
                    stored += stored_size
            uow.commit()
        return count, stored

    # -- CommitArtifact -------------------------------------------------------------------------------------

    def commit(
        self, caller: Caller, header: UploadHeader, chunks: Sequence[tuple[str, int]], content_digest: str
    ) -> Artifact:
        """Builds an artifact from chunks the tenant holds; cheap checks first, then the content is
        read and hashed once (bounded by max_artifact_size) in one of the tenant's verification slots."""
        header = validated_header(header)
        if len(chunks) > MAX_COMMIT_CHUNKS:
            raise InvalidArgument(f"at most {MAX_COMMIT_CHUNKS} chunks per commit", field="chunks")
        parsed = [(validation.digest(d, "chunks"), _chunk_size(n)) for d, n in chunks]
        size = sum(n for _, n in parsed)
        self.limits.artifact_size(size)
        digest = validation.digest(content_digest, "content_digest")
        skey, session = self._units.read_session(caller, header.session_id, WRITE)
        require_active(session)
        if header.request_id:
            existing = self._store.for_request(caller, skey, header.request_id)
            if existing is not None:
                return existing
        self.limits.artifact_count(session.session_id, session.artifact_count + 1)
        self.limits.session_bytes(session.session_id, session.artifact_bytes + size)
        unique = list(dict.fromkeys(d for d, _ in parsed))
        with self.content.pinned(unique):
            content = self._checked_content(caller, parsed, unique, size, content_digest)
            with self._admission.verification(caller):
                _verify(self.content, parsed, content.stored, digest)
            return self._store.commit(caller, header, content, self._consume_staging(caller, unique))

    def _checked_content(
        self, caller: Caller, parsed: list[tuple[bytes, int]], unique: list[bytes], size: int, content_digest: str
    ) -> NewContent:
        counts = self.content.tenant_counts(caller.tenant, unique)
        records = self.content.records(unique)
        missing = [d.hex() for d, n, r in zip(unique, counts, records, strict=True) if n == 0 or r is None]
        if missing:
            raise MissingChunks(
                f"{len(missing)} chunks are not stored", missing=",".join(missing[:20]), missing_count=len(missing)
            )
        by_digest = dict(zip(unique, records, strict=True))
        for chunk_digest, n in parsed:
            record = by_digest[chunk_digest]
            assert record is not None
            if record.size != n:
                raise IntegrityError("a chunk's size does not match the stored chunk", digest=chunk_digest.hex())
        new_bytes = 0  # what the tenant held only through staging: new to it with this artifact
        stored: dict[bytes, tuple[int, bool]] = {}
        for digest, count, staged in zip(unique, counts, self.content.staged(caller.tenant, unique), strict=True):
            record = by_digest[digest]
            assert record is not None
            stored[digest] = (record.stored_size, record.compressed)
            if count - (1 if staged is not None else 0) == 0:
                new_bytes += record.stored_size
        return NewContent(parsed, size, content_digest, new_bytes, stored, {}, Counter(d for d, _ in parsed))

    def _consume_staging(self, caller: Caller, digests: list[bytes]) -> Finisher:
        def finish(uow: UnitOfWork, artifact: Artifact) -> None:
            for digest, size in zip(digests, self.content.staged(caller.tenant, digests), strict=True):
                if size is not None:  # the artifact's references replace the reservation
                    self.content.unstage(uow.batch, caller.tenant, digest)
                    uow.drop(caller.tenant, Counter([digest]))
                    uow.count(caller.tenant, TENANT_STAGED, -size)

        return finish

    # -- expiry ---------------------------------------------------------------------------------------------

    def expire_staged(self) -> int:
        """Releases staged chunks no commit used within 24 hours."""
        expired = self.content.expired_staged(to_micros(now()))
        for item in expired:
            with self._units.begin(system_caller(item.tenant)) as uow:
                uow.lock_chunks([item.digest])
                if self.content.staged(item.tenant, [item.digest])[0] is None:
                    continue  # a commit consumed it meanwhile
                self.content.unstage(uow.batch, item.tenant, item.digest)
                uow.drop(item.tenant, Counter([item.digest]))
                uow.count(item.tenant, TENANT_STAGED, -item.size)
                uow.commit()
        return len(expired)


def _chunk_size(value: int) -> int:
    size = int(value)
    if not 1 <= size <= MAX_CHUNK_BYTES:
        raise InvalidArgument(f"chunk sizes are 1 to {MAX_CHUNK_BYTES} bytes", field="chunks")
    return size


def _verify(content: ContentStore, parsed: list[tuple[bytes, int]], stored: dict, digest: bytes) -> None:
    """IntegrityError unless the chunks, in order, hash to the content digest."""
    hasher = blake3()
    last: tuple[bytes, bytes] | None = None
    for chunk_digest, _ in parsed:
        if last is None or last[0] != chunk_digest:  # a run of one repeated chunk is read once
            last = (chunk_digest, content.read_chunk(chunk_digest))
        hasher.update(last[1])
    if hasher.digest() != digest:
        raise IntegrityError("content_digest does not match the chunks", content_digest=digest.hex())
