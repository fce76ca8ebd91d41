"""ArtifactUpload: one artifact being written, bytes in, chunks out, committed at the end.

Bytes are chunked as they arrive (FastCDC), hashed (BLAKE3), looked up in batches of ~4 MiB
(one multi_get), compressed (LZ4) when new and when the artifact is above the threshold, and appended
to the blob store. Nothing is visible until ``finish`` commits the artifact record, its references and
its event in one WriteBatch, after the chunk bytes were synced. Resumable uploads (with an upload_id)
also persist their progress after each batch, so a new stream can continue at ``committed_size``.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from blake3 import blake3

from .. import hotpath
from ..cas import ChunkRecord, prepare_chunks
from ..cas.pipeline import digest_chunks
from ..errors import IntegrityError, ResourceExhausted
from ..model import Artifact, Caller, UploadHeader

if TYPE_CHECKING:
    from .artifact_store import ArtifactStoreOps

BATCH_BYTES = 4 * 1024 * 1024
INCOMPRESSIBLE_AFTER = 16


class ArtifactUpload:
    """Feed bytes with write(), then finish() (returns the Artifact) or abort()."""

    def __init__(
        self,
        ops: ArtifactStoreOps,
        caller: Caller,
        skey: bytes,
        header: UploadHeader,
        session_bytes: int,
        existing: Artifact | None = None,
    ) -> None:
        self.ops, self.caller, self.skey, self.header = ops, caller, skey, header
        self.existing = existing
        self.size = 0
        self.chunks: list[tuple[bytes, int]] = []
        self.new_records: dict[bytes, ChunkRecord] = {}
        self.stored: dict[bytes, tuple[int, bool]] = {}  # digest -> (stored size, compressed)
        self.new_bytes = 0
        self.persisted = 0  # chunks whose references a resumable upload already holds
        self._session_bytes = session_bytes
        self._chunker = hotpath.StreamChunker()
        self._hasher = blake3()
        self._pending: list[memoryview | bytes] = []
        self._pending_bytes = 0
        self._pins: list[bytes] = []
        self._threshold = ops.config.artifact_compression_threshold
        self.finished = False
        self.content_digest = ""
        self.skip = 0  # bytes a resumed stream resends that the upload already holds
        self._tried = self._shrunk = 0  # new chunks LZ4 was tried on, and how many it shrank

    def resume_from(self, chunks: list[tuple[bytes, int]], new_bytes: int) -> None:
        """Continues after the chunks an earlier stream of this upload persisted."""
        self.chunks = list(chunks)
        self.persisted = len(chunks)
        self.new_bytes = new_bytes
        records = self.ops.content.records([d for d, _ in chunks])
        for (digest, _), record in zip(chunks, records, strict=True):
            assert record is not None  # held by this upload's references
            self.stored[digest] = (record.stored_size, record.compressed)
            self._hasher.update(self.ops.content.read_chunk(digest, record))
            self.size += record.size

    def write(self, data: bytes | memoryview) -> None:
        """Accepts the next bytes; limits are enforced as soon as they are crossed."""
        if self.existing is not None:
            return
        if self.skip:
            dropped = min(self.skip, len(data))
            data, self.skip = memoryview(data)[dropped:], self.skip - dropped
        self.size += len(data)
        limit = self.ops.config.max_artifact_size
        if self.size > limit:
            raise ResourceExhausted(f"artifact exceeds max_artifact_size ({limit} bytes)", limit="max_artifact_size")
        session_limit = self.ops.config.max_session_bytes
        if self._session_bytes + self.size > session_limit:
            raise ResourceExhausted(
                f"session would exceed max_session_bytes ({session_limit} bytes)", limit="max_session_bytes"
            )
        self.ops.check_tenant_bytes(self.caller, self.size)
        self._hasher.update(data)
        for chunk in self._chunker.feed(data):
            self._pending.append(chunk)
            self._pending_bytes += len(chunk)
        if self._pending_bytes >= BATCH_BYTES and self.size > self._threshold:
            self._process()

    def write_many(self, parts: list[bytes]) -> None:
        """write() for several messages at once (one hand-off to a worker thread per few MiB)."""
        for data in parts:
            self.write(data)

    def _process(self) -> None:
        chunks, self._pending, self._pending_bytes = self._pending, [], 0
        if not chunks:
            return
        digests = digest_chunks(chunks)
        unseen = [d for d in dict.fromkeys(digests) if d not in self.stored]
        self.ops.content.pin(unseen)
        self._pins.extend(unseen)
        records = self.ops.content.records(unseen)
        tenant_counts = self.ops.content.tenant_counts(self.caller.tenant, unseen)
        missing = {d for d, r in zip(unseen, records, strict=True) if r is None}
        for digest, record, count in zip(unseen, records, tenant_counts, strict=True):
            if record is not None:
                self.stored[digest] = (record.stored_size, record.compressed)
                if count == 0:
                    self.new_bytes += record.stored_size
        compress = self.size > self._threshold and self._worth_compressing()
        prepared = prepare_chunks(chunks, digests, missing, compress=compress)
        if compress:
            self._tried += sum(1 for p in prepared if p.stored)
            self._shrunk += sum(1 for p in prepared if p.compressed)
        to_write = [p for p in prepared if p.stored]
        locations = self.ops.content.blobs.append([p.stored for p in to_write])
        for item, location in zip(to_write, locations, strict=True):
            record = ChunkRecord(location, len(item.stored), item.size, item.compressed)
            self.new_records[item.digest] = record
            self.stored[item.digest] = (record.stored_size, record.compressed)
            self.new_bytes += record.stored_size
        self.chunks.extend((p.digest, p.size) for p in prepared)
        if self.header.upload_id:
            self.ops.persist_upload_progress(self)

    def _worth_compressing(self) -> bool:
        """Stops trying LZ4 once 16 new chunks in a row did not shrink (random or already
        compressed content): trying costs as much as storing."""
        return self._shrunk > 0 or self._tried < INCOMPRESSIBLE_AFTER

    @property
    def committed_size(self) -> int:
        return sum(size for _, size in self.chunks[: self.persisted])

    def finish(self) -> Artifact:
        """Seals and commits in one go (the embedded API; the servicer calls the two halves)."""
        self.seal()
        return self.commit()

    def seal(self) -> None:
        """Processes the last bytes, checks the expected size and digest, and syncs the chunk bytes.

        The heavy half of finishing, safe to run on a worker thread; nothing is visible yet."""
        if self.existing is not None:
            return
        for chunk in self._chunker.finish():
            self._pending.append(chunk)
            self._pending_bytes += len(chunk)
        self._process()
        digest = self._hasher.hexdigest()
        expected = self.header
        if expected.expected_size and expected.expected_size != self.size:
            self.discard()
            raise IntegrityError(
                f"received {self.size} bytes, expected {expected.expected_size}",
                expected_size=expected.expected_size,
                size=self.size,
            )
        if expected.expected_digest and expected.expected_digest != digest:
            self.discard()
            raise IntegrityError(
                "content digest does not match expected_digest",
                expected_digest=expected.expected_digest,
                content_digest=digest,
            )
        self.ops.content.blobs.sync()
        self.content_digest = digest

    def commit(self) -> Artifact:
        """Makes the sealed artifact visible: the light half of finishing (one WriteBatch)."""
        if self.existing is not None:
            return self.existing
        try:
            artifact = self.ops.commit_upload(self, self.content_digest)
        finally:
            self.release_pins()
        self.finished = True
        return artifact

    def occurrences(self) -> Counter[bytes]:
        """References this upload still has to take (a resumable one holds some already)."""
        return Counter(d for d, _ in self.chunks[self.persisted :])

    def release_pins(self) -> None:
        self.ops.content.unpin(self._pins)
        self._pins = []

    def abort(self) -> None:
        """The stream broke: a resumable upload keeps its progress, any other is forgotten."""
        self.release_pins()
        if self.header.upload_id:
            self.ops.release_upload(self)

    def discard(self) -> None:
        """Forgets the upload entirely, progress included."""
        self.release_pins()
        if self.header.upload_id:
            self.ops.drop_upload(self.caller, self.header.upload_id)
