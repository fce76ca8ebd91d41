"""ArtifactUpload: one artifact being written, bytes in, chunks out, committed at the end.

Bytes are chunked as they arrive (FastCDC), hashed (BLAKE3), looked up in batches of ~4 MiB (one
multi_get, after pinning), compressed (LZ4) when new and when it pays, and appended to the blob
store. Nothing is visible until ``commit`` writes the artifact record, its references and its event
in one unit of work, after the chunk bytes were synced. A resumable upload (with an upload_id) also
persists its progress after each batch and, when its stream ends early, every complete chunk it
received, so a new stream can continue at ``committed_size``.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Protocol

from blake3 import blake3

from ... import hotpath
from ...cas import ChunkRecord, ContentStore, prepare_chunks
from ...cas.pipeline import digest_chunks
from ...errors import IntegrityError
from ...model import Artifact, Caller, UploadHeader
from ...tracing import span
from ..limits import Limits

BATCH_BYTES = 4 * 1024 * 1024
log = logging.getLogger(__name__)


class UploadOwner(Protocol):
    """What an upload needs from the artifact store that started it."""

    def commit_upload(self, upload: ArtifactUpload) -> Artifact: ...

    def persist_progress(self, upload: ArtifactUpload) -> None: ...

    def release_upload(self, upload: ArtifactUpload, keep_progress: bool) -> None: ...


class ArtifactUpload:
    """Feed bytes with write(), then finish() (returns the Artifact) or abort()."""

    def __init__(
        self,
        owner: UploadOwner,
        content: ContentStore,
        limits: Limits,
        threshold: int,
        caller: Caller,
        skey: bytes,
        header: UploadHeader,
        used: tuple[int, int],
        existing: Artifact | None = None,
    ) -> None:
        self._owner, self._content, self._limits, self._threshold = owner, content, limits, threshold
        self.caller, self.skey, self.header = caller, skey, header
        self.existing = existing
        self.size = 0
        self.chunks: list[tuple[bytes, int]] = []
        self.new_records: dict[bytes, ChunkRecord] = {}
        self.stored: dict[bytes, tuple[int, bool]] = {}  # digest -> (stored size, compressed)
        self.new_bytes = 0
        self.persisted = 0  # chunks whose references a resumable upload already holds
        self.content_digest = ""
        self.skip = 0  # bytes a resumed stream resends that the upload already holds
        self.finished = False
        # (session bytes, tenant bytes) when the upload began: quotas are checked early as bytes
        # arrive; the commit's unit of work checks them again and decides.
        self._session_used, self._tenant_used = used
        self._chunker = hotpath.StreamChunker()
        self._hasher = blake3()
        self._pending: list[memoryview | bytes] = []
        self._pending_bytes = 0
        self._pins: list[bytes] = []
        self.owner_token = ""  # set when the stream claims a resumable upload (see UploadProgress)

    def resume_from(self, chunks: list[tuple[bytes, int]], new_bytes: int) -> None:
        """Continues after the chunks an earlier stream of this upload persisted (and holds)."""
        self.chunks = list(chunks)
        self.persisted = len(chunks)
        self.new_bytes = new_bytes
        records = self._content.records([d for d, _ in chunks])
        for (digest, _), record in zip(chunks, records, strict=True):
            assert record is not None  # held by this upload's references
            self.stored[digest] = (record.stored_size, record.compressed)
            self._hasher.update(self._content.read_chunk(digest, record))
            self.size += record.size

    def write(self, data: bytes | memoryview) -> None:
        """Accepts the next bytes; limits are enforced as soon as they are crossed."""
        if self.existing is not None:
            return
        if self.skip:
            dropped = min(self.skip, len(data))
            data, self.skip = memoryview(data)[dropped:], self.skip - dropped
        self.size += len(data)
        self._limits.artifact_size(self.size)
        self._limits.session_bytes(self.header.session_id, self._session_used + self.size)
        self._limits.tenant_bytes(self.caller.tenant, self._tenant_used + self.size)
        self._hasher.update(data)
        with span("cas.chunk", bytes=len(data)):
            for chunk in self._chunker.feed(data):
                self._pending.append(chunk)
                self._pending_bytes += len(chunk)
        if self._pending_bytes >= BATCH_BYTES:
            self._process()

    def write_many(self, parts: list[bytes]) -> None:
        """write() for several messages at once (one hand-off to a worker thread per few MiB)."""
        for data in parts:
            self.write(data)

    def _process(self, persist: bool = True) -> None:
        chunks, self._pending, self._pending_bytes = self._pending, [], 0
        if not chunks:
            return
        content = self._content
        with span("cas.hash", chunks=len(chunks)):
            digests = digest_chunks(chunks)
        unseen = [d for d in dict.fromkeys(digests) if d not in self.stored]
        content.pin(unseen)  # before the lookup: a chunk found stays until the commit
        self._pins.extend(unseen)
        records = content.reusable(unseen)
        tenant_counts = content.tenant_counts(self.caller.tenant, unseen)
        missing = {d for d, r in zip(unseen, records, strict=True) if r is None}
        for digest, record, count in zip(unseen, records, tenant_counts, strict=True):
            if record is not None:
                self.stored[digest] = (record.stored_size, record.compressed)
                if count == 0:
                    self.new_bytes += record.stored_size
        with span("cas.compress", chunks=len(missing)):
            prepared = prepare_chunks(chunks, digests, missing, self._threshold)
        to_write = [p for p in prepared if p.stored]
        locations = content.blobs.append([(p.digest, p.stored) for p in to_write])
        for item, location in zip(to_write, locations, strict=True):
            record = ChunkRecord(location, len(item.stored), item.size, item.compressed)
            self.new_records[item.digest] = record
            self.stored[item.digest] = (record.stored_size, record.compressed)
            self.new_bytes += record.stored_size
        self.chunks.extend((p.digest, p.size) for p in prepared)
        if self.header.upload_id and persist:
            self._owner.persist_progress(self)

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
        self._process()  # complete chunks first: progress only ever ends on a content-defined cut
        for chunk in self._chunker.finish():
            self._pending.append(chunk)
            self._pending_bytes += len(chunk)
        self._process(persist=False)  # the tail is held by the commit, or by nobody if it never comes
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
        self._content.blobs.sync()
        self.content_digest = digest

    def commit(self) -> Artifact:
        """Makes the sealed artifact visible: the light half of finishing (one unit of work)."""
        if self.existing is not None:
            self._owner.release_upload(self, keep_progress=True)
            return self.existing
        try:
            artifact = self._owner.commit_upload(self)
        finally:
            self.release_pins()
        self.finished = True
        return artifact

    def occurrences(self) -> Counter[bytes]:
        """References this upload still has to take (a resumable one holds some already)."""
        return Counter(d for d, _ in self.chunks[self.persisted :])

    def release_pins(self) -> None:
        self._content.unpin(self._pins)
        self._pins = []

    def abort(self) -> None:
        """The stream broke: a resumable upload keeps its progress, with every complete chunk
        received so far; any other upload is forgotten."""
        if self.header.upload_id and self.existing is None and not self.finished:
            try:
                self._process()  # complete chunks only (the chunker keeps the tail); persists them
            except Exception:  # noqa: BLE001 - keep what was persisted before; the stream is gone anyway
                log.warning("upload %s: could not keep its last chunks", self.header.upload_id, exc_info=True)
        self.release_pins()
        self._owner.release_upload(self, keep_progress=True)

    def discard(self) -> None:
        """Forgets the upload entirely, progress included."""
        self.release_pins()
        self._owner.release_upload(self, keep_progress=False)
