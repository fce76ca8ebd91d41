"""ArtifactOps: the embedded artifact API, client-side chunk uploads, and what history needs."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from blake3 import blake3

from .. import hotpath
from ..cas import ChunkRecord
from ..cas.pipeline import compress_chunk
from ..errors import DataLoss, IntegrityError, InvalidArgument, MissingChunks
from ..model import Artifact, ArtifactType, Caller, Role, UploadHeader
from ..storage import WriteBatch
from . import artifact_records as rec
from .artifact_queries import ArtifactQueryOps
from .codec import now, to_micros
from .ids import uuid7
from .uploads import ArtifactUpload

MAX_CHUNK_BYTES = 4 * 1024 * 1024
STAGED_TTL_US = 24 * 3600 * 1_000_000


def parse_digest(text: str, field: str = "digest") -> bytes:
    """32 raw bytes from 64 lowercase hex characters, or InvalidArgument."""
    if len(text) != 64 or text != text.lower():
        raise InvalidArgument(f"{field} must be 64 lowercase hex characters (BLAKE3)", field=field)
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise InvalidArgument(f"{field} is not hex", field=field) from None


class ArtifactOps(ArtifactQueryOps):
    """The artifact half of the SessionManager."""

    def put_artifact(self, header: UploadHeader, content: bytes, *, caller: Caller | None = None) -> Artifact:
        """Stores small content in one call and returns the artifact record."""
        upload = self.begin_upload(header, caller=caller)
        try:
            upload.write(content)
            return upload.finish()
        except BaseException:
            upload.abort()
            raise

    def store_artifact(
        self,
        session_id: str,
        name: str,
        content: bytes,
        artifact_type: ArtifactType = ArtifactType.AGENT_OUTPUT,
        *,
        description: str = "",
        tags: Iterable[str] = (),
        mime_type: str = "",
        metadata: Mapping[str, Any] | None = None,
        caller: Caller | None = None,
    ) -> str:
        """Stores content as the next version of ``name`` in the session and returns its artifact id."""
        header = UploadHeader(
            session_id,
            name,
            ArtifactType(artifact_type),
            description=description,
            tags=list(tags),
            mime_type=mime_type,
            metadata=dict(metadata or {}),
        )
        return self.put_artifact(header, content, caller=caller).artifact_id

    def capabilities(self) -> dict[str, Any]:
        """What clients need to chunk like the server and respect its limits."""
        return {
            "digest_function": "blake3",
            "compression": "lz4",
            "compression_threshold": self.config.artifact_compression_threshold,
            "max_artifact_size": self.config.max_artifact_size,
            "chunking": dict(hotpath.CHUNKING),
        }

    # -- client-side chunking: FindMissingChunks, UploadChunks, CommitArtifact ---------------------------

    def _staged_key(self, caller: Caller, digest: bytes) -> bytes:
        return caller.tenant.encode() + b"\x00\x01" + digest

    def find_missing_chunks(self, digests: Sequence[str], *, caller: Caller | None = None) -> list[str]:
        """The digests this tenant holds no chunk for (another tenant's chunks count as missing)."""
        c = self._caller(caller)
        self.require(c, Role.READER)
        raw = [parse_digest(d, "digests") for d in digests]
        counts = self.content.tenant_counts(c.tenant, raw)
        staged = self.storage.multi_get("uploads", [self._staged_key(c, d) for d in raw])
        records = self.content.records(raw)
        return [
            d.hex()
            for d, n, s, r in zip(raw, counts, staged, records, strict=True)
            if r is None or (n == 0 and s is None)
        ]

    def upload_chunks(self, chunks: Iterable[tuple[str, bytes]], *, caller: Caller | None = None) -> tuple[int, int]:
        """Stores verified chunks for a later CommitArtifact; returns (chunks stored, bytes stored)."""
        c = self._caller(caller)
        self.require(c, Role.WRITER)
        stored_chunks = stored_bytes = 0
        for digest_text, data in chunks:
            digest = parse_digest(digest_text)
            if len(data) > MAX_CHUNK_BYTES:
                raise InvalidArgument(f"chunks are at most {MAX_CHUNK_BYTES} bytes", field="data")
            if blake3(data).digest() != digest:
                raise IntegrityError("chunk bytes do not match their digest", digest=digest_text)
            batch = WriteBatch()
            if self.content.records([digest])[0] is None:
                compress = len(data) > self.config.artifact_compression_threshold
                body, compressed = compress_chunk(data) if compress else (data, False)
                location = self.content.blobs.append([body])[0]
                self.content.blobs.sync()
                batch.put("chunks", digest, ChunkRecord(location, len(body), len(data), compressed).encode())
                stored_bytes += len(body)
            expires = to_micros(now()) + STAGED_TTL_US
            batch.put("uploads", self._staged_key(c, digest), expires.to_bytes(8, "big"))
            with self.lock:
                if self.content.global_count(digest) == 0:
                    batch.put("gc", digest, expires.to_bytes(8, "little", signed=True))
                self.storage.write(batch)
            stored_chunks += 1
        return stored_chunks, stored_bytes

    def commit_artifact(
        self,
        header: UploadHeader,
        chunks: Sequence[tuple[str, int]],
        content_digest: str,
        *,
        caller: Caller | None = None,
    ) -> Artifact:
        """Builds an artifact from chunks already stored; the whole content is re-verified."""
        c = self._caller(caller)
        parsed = [(parse_digest(d, "chunks"), int(n)) for d, n in chunks]
        digest = parse_digest(content_digest, "content_digest")
        missing = self.find_missing_chunks([d.hex() for d, _ in parsed], caller=c)
        if missing:
            raise MissingChunks(
                f"{len(missing)} chunks are not stored", missing=",".join(missing[:20]), missing_count=len(missing)
            )
        upload = self.begin_upload(header, caller=c)
        if upload.existing is not None:
            return upload.existing
        hasher = blake3()
        records = self.content.records([d for d, _ in parsed])
        counts = self.content.tenant_counts(c.tenant, [d for d, _ in parsed])
        seen: set[bytes] = set()
        for (chunk_digest, size), record, count in zip(parsed, records, counts, strict=True):
            if record is None or record.size != size:
                raise IntegrityError("a chunk's size does not match the stored chunk", digest=chunk_digest.hex())
            hasher.update(self.content.read_chunk(chunk_digest, record))
            upload.stored[chunk_digest] = (record.stored_size, record.compressed)
            if count == 0 and chunk_digest not in seen:
                upload.new_bytes += record.stored_size
            seen.add(chunk_digest)
        upload.chunks = parsed
        upload.size = sum(n for _, n in parsed)
        if hasher.digest() != digest:
            raise IntegrityError("content_digest does not match the chunks", content_digest=content_digest)
        self.content.pin(seen)
        try:
            artifact = self.commit_upload(upload, content_digest)
        finally:
            self.content.unpin(seen)
        return artifact

    # -- what history (snapshots, fork, rewind) needs -----------------------------------------------

    def artifact_records(self, caller: Caller, skey: bytes, artifact_ids: Iterable[str]) -> list[Artifact]:
        ids = list(artifact_ids)
        raws = self.storage.multi_get("artifacts", [rec.record_key(skey, i) for i in ids])
        return [rec.decode_record(r, with_chunks=False).artifact for r in raws if r is not None]

    def live_artifact_ids(self, skey: bytes) -> list[str]:
        return [r.artifact.artifact_id for r in self.session_records(skey) if r.live]

    def copy_artifacts(
        self, batch: WriteBatch, caller: Caller, source_skey: bytes, target_skey: bytes, artifact_ids: Iterable[str]
    ) -> list[Artifact]:
        copies = []
        taken: Counter[bytes] = Counter()
        target_session = target_skey[-36:].decode()
        for record in self._records(source_skey, artifact_ids):
            a = record.artifact
            copy = Artifact(**{f: getattr(a, f) for f in a.__slots__})  # type: ignore[attr-defined]
            copy.artifact_id, copy.session_id, copy.new_bytes = uuid7(), target_session, 0
            copy.parent_artifact_id = copy.parent_artifact_id or a.artifact_id
            self._put_artifact(batch, caller, target_skey, rec.ArtifactRecord(copy, record.chunks, stored_seq=1))
            taken.update(d for d, _ in record.chunks)
            copies.append(copy)
        self.content.add_references(batch, caller.tenant, taken)
        return copies

    def restore_artifacts(self, batch: WriteBatch, caller: Caller, skey: bytes, artifact_ids: Iterable[str]) -> None:
        taken: Counter[bytes] = Counter()
        for record in self._records(skey, artifact_ids):
            if record.live:
                continue
            digests = [d for d, _ in record.chunks]
            if any(r is None for r in self.content.records(digests)):
                raise DataLoss(
                    f"artifact {record.artifact.artifact_id}'s content was reclaimed",
                    artifact_id=record.artifact.artifact_id,
                )
            record.deleted_seq = 0
            a = record.artifact
            batch.put("artifacts", rec.record_key(skey, a.artifact_id), rec.encode_record(record))
            batch.put("artifact_names", rec.name_key(skey, a.name, a.version), a.artifact_id.encode())
            taken.update(digests)
        self.content.add_references(batch, caller.tenant, taken)

    def remove_artifacts(self, batch: WriteBatch, caller: Caller, skey: bytes, artifact_ids: Iterable[str]) -> None:
        records = [r for r in self._records(skey, artifact_ids) if r.live]
        _, session = self.fetch(caller, skey[-36:].decode())
        scratch = type(session)(session.session_id)  # counters are adjusted by the caller's commit
        self.unlink_artifacts(batch, caller, skey, records, session.last_event_seq + 1, scratch)

    def _records(self, skey: bytes, artifact_ids: Iterable[str]) -> list[rec.ArtifactRecord]:
        ids = list(artifact_ids)
        raws = self.storage.multi_get("artifacts", [rec.record_key(skey, i) for i in ids])
        return [rec.decode_record(r) for r in raws if r is not None]


__all__ = ["ArtifactOps", "ArtifactUpload", "parse_digest"]
