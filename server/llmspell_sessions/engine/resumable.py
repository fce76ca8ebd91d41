"""Resumable uploads: the content store they write to, their persisted progress and their expiry."""

from __future__ import annotations

from collections import Counter

import orjson

from ..cas import ContentStore
from ..config import SessionManagerConfig
from ..errors import InvalidArgument, UploadNotFound
from ..model import Caller, Role, UploadStatus
from ..storage import BlobStore, Storage, WriteBatch, build_blob_store
from . import keys
from .codec import now, to_micros
from .hooks import HookRunner
from .listing import ListingOps
from .uploads import ArtifactUpload

UPLOAD_TTL_US = 24 * 3600 * 1_000_000
_UPLOAD_ID_MAX = 128


class ResumableUploadOps(ListingOps):
    """The content store, and the bookkeeping that lets an upload continue on a new stream."""

    def __init__(
        self,
        config: SessionManagerConfig,
        storage: Storage | None = None,
        hooks: HookRunner | None = None,
        blobs: BlobStore | None = None,
    ) -> None:
        super().__init__(config, storage, hooks)
        self.content = ContentStore(self.storage, blobs if blobs is not None else build_blob_store(config))
        # The stream that owns each resumable upload: a newer stream supersedes one still draining.
        self._upload_owners: dict[bytes, ArtifactUpload] = {}

    # -- resumable uploads ------------------------------------------------------------------------

    def _upload_key(self, caller: Caller, upload_id: str) -> bytes:
        return keys.tenant_prefix(caller.tenant) + upload_id.encode()

    def _load_progress(self, caller: Caller, upload_id: str) -> dict | None:
        raw = self.storage.get("uploads", self._upload_key(caller, upload_id))
        return orjson.loads(raw) if raw else None

    def _resume(self, caller: Caller, upload: ArtifactUpload) -> str:
        """Continues the upload from its persisted progress; returns the id of the artifact it already
        produced when it had finished ("" otherwise)."""
        header = upload.header
        with self.lock:
            self._upload_owners[self._upload_key(caller, header.upload_id)] = upload
        progress = self._load_progress(caller, header.upload_id)
        if progress is None:
            if header.write_offset:
                raise UploadNotFound(f"no upload {header.upload_id!r} to resume", upload_id=header.upload_id)
            return ""
        if progress.get("artifact_id"):
            return str(progress["artifact_id"])
        if progress["session_id"] != header.session_id or progress["name"] != header.name:
            raise InvalidArgument("upload_id belongs to another session or name", field="upload_id")
        if header.write_offset > progress["committed_size"]:
            raise InvalidArgument(
                f"write_offset is past the committed_size {progress['committed_size']}",
                field="write_offset",
                committed_size=progress["committed_size"],
            )
        chunks = [(bytes.fromhex(d), n) for d, n in progress["chunks"]]
        upload.resume_from(chunks, progress["new_bytes"])
        # The old stream may have made more durable since the client asked: skip what is already held.
        upload.skip = progress["committed_size"] - header.write_offset
        return ""

    def persist_upload_progress(self, upload: ArtifactUpload) -> None:
        """Makes the chunks processed so far durable and referenced by the upload (resumable only)."""
        self.content.blobs.sync()
        with self.lock:
            key = self._upload_key(upload.caller, upload.header.upload_id)
            if self._upload_owners.get(key) is not upload:
                return  # superseded by a newer stream of the same upload: its progress is the truth
            batch = WriteBatch()
            self._write_new_chunk_records(batch, upload)
            self.content.add_references(batch, upload.caller.tenant, upload.occurrences())
            progress = {
                "session_id": upload.header.session_id,
                "name": upload.header.name,
                "committed_size": sum(n for _, n in upload.chunks),
                "new_bytes": upload.new_bytes,
                "chunks": [(d.hex(), n) for d, n in upload.chunks],
                "created_us": to_micros(now()),
            }
            batch.put("uploads", key, orjson.dumps(progress))
            self.storage.write(batch)
            upload.persisted = len(upload.chunks)

    def _write_new_chunk_records(self, batch: WriteBatch, upload: ArtifactUpload) -> None:
        digests = list(upload.new_records)
        for digest, present in zip(digests, self.content.records(digests), strict=True):
            if present is None:  # another upload may have committed the same chunk meanwhile
                batch.put("chunks", digest, upload.new_records[digest].encode())
        upload.new_records.clear()

    def release_upload(self, upload: ArtifactUpload) -> None:
        """Forgets which stream owns an upload when that stream ends without committing."""
        with self.lock:
            key = self._upload_key(upload.caller, upload.header.upload_id)
            if self._upload_owners.get(key) is upload:
                del self._upload_owners[key]

    def query_upload_status(self, upload_id: str, *, caller: Caller | None = None) -> UploadStatus:
        """How much of a resumable upload the server holds."""
        c = self._caller(caller)
        self.require(c, Role.READER)
        progress = self._load_progress(c, valid_upload_id(upload_id))
        if progress is None:
            raise UploadNotFound(f"no upload {upload_id!r}", upload_id=upload_id)
        done = bool(progress.get("artifact_id"))
        return UploadStatus(upload_id, progress["committed_size"], done, progress.get("artifact_id", ""))

    def drop_upload(self, caller: Caller, upload_id: str) -> None:
        """Forgets an unfinished upload and releases the chunks it held."""
        with self.lock:
            progress = self._load_progress(caller, upload_id)
            if progress is None or progress.get("artifact_id"):
                return
            batch = WriteBatch()
            held = Counter(bytes.fromhex(d) for d, _ in progress["chunks"])
            self.content.drop_references(batch, caller.tenant, held, to_micros(now()), self._grace_us())
            batch.delete("uploads", self._upload_key(caller, upload_id))
            self.storage.write(batch)

    def expire_uploads(self) -> int:
        """Drops unfinished uploads older than 24 hours (and finished records after as long)."""
        limit = to_micros(now()) - UPLOAD_TTL_US
        expired = []
        for key, raw in self.storage.scan("uploads", b""):
            if orjson.loads(raw).get("created_us", 0) < limit:
                expired.append(key)
        for key in expired:
            tenant, _, upload_id = key.partition(b"\x00")
            self.drop_upload(Caller(tenant=tenant.decode(), subject="system"), upload_id.decode())
            self.storage.write(_deletion("uploads", key))
        return len(expired)

    def _grace_us(self) -> int:
        return int(self.config.chunk_gc_grace * 1_000_000)


def valid_upload_id(value: str) -> str:
    """A valid upload id (1-128 printable characters), or InvalidArgument."""
    if not value or len(value) > _UPLOAD_ID_MAX or not value.isprintable():
        raise InvalidArgument(f"upload_id must be 1-{_UPLOAD_ID_MAX} printable characters", field="upload_id")
    return value


def _deletion(cf: str, key: bytes) -> WriteBatch:
    batch = WriteBatch()
    batch.delete(cf, key)
    return batch
