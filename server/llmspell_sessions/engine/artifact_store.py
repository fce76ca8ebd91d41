"""Writing and deleting artifacts: upload start, commit, delete, resumable progress, expiry."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import orjson

from ..cas.compaction import SETTLE_SECONDS, compact_segments
from ..errors import ArtifactNotFound, InvalidArgument, ResourceExhausted
from ..model import Artifact, ArtifactType, Caller, Role, Session, UploadHeader
from ..storage import WriteBatch
from . import artifact_records as rec
from . import keys, validation
from .codec import clone_session, now, to_micros
from .core import TENANT_BYTES
from .ids import uuid7
from .resumable import ResumableUploadOps, valid_upload_id
from .uploads import ArtifactUpload


class ArtifactStoreOps(ResumableUploadOps):
    """Artifact writes: every rule about names, versions, limits and references lives here."""

    # -- starting an upload ---------------------------------------------------------------------

    def begin_upload(self, header: UploadHeader, *, caller: Caller | None = None) -> ArtifactUpload:
        """Validates the header and the session, and returns the writer for the artifact's bytes."""
        c = self._caller(caller)
        self.require(c, Role.WRITER)
        header = _validated(header)
        skey, session = self.fetch_current(c, header.session_id)
        self.require_active(session)
        if header.request_id:
            existing = self._artifact_for_request(c, header.request_id)
            if existing is not None:
                return ArtifactUpload(self, c, skey, header, session.artifact_bytes, existing)
        self._check_count(session)
        if header.parent_artifact_id:
            self.get_artifact_info(header.parent_artifact_id, caller=c)
        upload = ArtifactUpload(self, c, skey, header, session.artifact_bytes)
        if header.upload_id:
            finished = self._resume(c, upload)
            if finished:  # a retry of an upload that completed: answer with its artifact
                upload.existing = self.get_artifact_info(finished, caller=c)
        elif header.write_offset:
            raise InvalidArgument("write_offset needs an upload_id", field="write_offset")
        return upload

    def check_tenant_bytes(self, caller: Caller, adding: int) -> None:
        """RESOURCE_EXHAUSTED when adding this many bytes would pass the tenant's quota."""
        quota = self.config.max_tenant_bytes
        if quota and self.counter(caller.tenant, TENANT_BYTES) + adding > quota:
            raise ResourceExhausted(
                f"tenant would exceed max_tenant_bytes ({quota} bytes)", limit="max_tenant_bytes", tenant=caller.tenant
            )

    def _check_count(self, session: Session) -> None:
        limit = self.config.max_artifacts_per_session
        if session.artifact_count >= limit:
            raise ResourceExhausted(
                f"session holds {limit} artifacts (max_artifacts_per_session)",
                limit="max_artifacts_per_session",
                session_id=session.session_id,
            )

    def _artifact_for_request(self, caller: Caller, request_id: str) -> Artifact | None:
        artifact_id = self.storage.get("artifacts", rec.request_key(caller.tenant, request_id))
        if artifact_id is None:
            return None
        try:
            return self.get_artifact_info(artifact_id.decode(), caller=caller)
        except ArtifactNotFound:
            return None

    # -- committing -----------------------------------------------------------------------------------

    def commit_upload(self, upload: ArtifactUpload, content_digest: str) -> Artifact:
        """Writes the artifact, its references, its name/version entries and artifact.stored at once."""
        caller, header = upload.caller, upload.header
        with self.lock:
            skey, before = self.fetch_current(caller, header.session_id)
            self.require_active(before)
            self._check_count(before)
            if before.artifact_bytes + upload.size > self.config.max_session_bytes:
                raise ResourceExhausted("session would exceed max_session_bytes", limit="max_session_bytes")
            self.check_tenant_bytes(caller, upload.size)
            batch = WriteBatch()
            self._write_new_chunk_records(batch, upload)
            self.content.add_references(batch, caller.tenant, upload.occurrences())
            artifact = self._new_artifact(caller, skey, header, upload, content_digest)
            record = rec.ArtifactRecord(artifact, upload.chunks, stored_seq=before.last_event_seq + 1)
            self._put_artifact(batch, caller, skey, record)
            if header.upload_id:
                key = self._upload_key(caller, header.upload_id)
                if self._upload_owners.get(key) is not upload:
                    raise InvalidArgument("a newer stream of this upload_id took over", field="upload_id")
                del self._upload_owners[key]
                progress = {
                    "artifact_id": artifact.artifact_id,
                    "committed_size": upload.size,
                    "created_us": to_micros(now()),
                }
                batch.put("uploads", key, orjson.dumps(progress))
            if header.request_id:
                batch.put("artifacts", rec.request_key(caller.tenant, header.request_id), artifact.artifact_id.encode())
            after = clone_session(before)
            after.artifact_count += 1
            after.artifact_bytes += artifact.size
            self.commit(
                caller,
                skey,
                before,
                after,
                "artifact.stored",
                _stored_payload(artifact),
                operation="store_artifact",
                batch=batch,
            )
            return artifact

    def _new_artifact(
        self, caller: Caller, skey: bytes, header: UploadHeader, upload: ArtifactUpload, content_digest: str
    ) -> Artifact:
        counter = self.storage.get("artifact_names", rec.version_counter_key(skey, header.name))
        version = (int(counter) if counter else 0) + 1
        previous = self._latest(skey, header.name)
        unique = {d: upload.stored[d] for d, _ in upload.chunks}
        return Artifact(
            artifact_id=uuid7(),
            session_id=header.session_id,
            name=header.name,
            version=version,
            type=header.type,
            custom_type=header.custom_type,
            description=header.description,
            tags=header.tags,
            mime_type=header.mime_type,
            metadata=header.metadata,
            size=upload.size,
            content_digest=content_digest,
            stored_size=sum(s for s, _ in unique.values()),
            compressed=any(c for _, c in unique.values()),
            chunk_count=len(upload.chunks),
            new_bytes=upload.new_bytes,
            parent_artifact_id=header.parent_artifact_id,
            previous_digest=previous.artifact.content_digest if previous else "",
            create_time=now(),
            created_by=caller.subject,
        )

    def _put_artifact(self, batch: WriteBatch, caller: Caller, skey: bytes, record: rec.ArtifactRecord) -> None:
        a = record.artifact
        batch.put("artifacts", rec.record_key(skey, a.artifact_id), rec.encode_record(record))
        batch.put("artifacts", rec.id_key(caller.tenant, a.artifact_id), a.session_id.encode())
        batch.put("artifact_names", rec.name_key(skey, a.name, a.version), a.artifact_id.encode())
        batch.put("artifact_names", rec.version_counter_key(skey, a.name), str(a.version).encode())

    def _latest(self, skey: bytes, name: str) -> rec.ArtifactRecord | None:
        for _, artifact_id in self.storage.scan("artifact_names", rec.name_prefix(skey, name), reverse=True):
            raw = self.storage.get("artifacts", rec.record_key(skey, artifact_id.decode()))
            if raw is not None:
                return rec.decode_record(raw, with_chunks=False)
        return None

    # -- reading one record -----------------------------------------------------------------------------

    def find_record(self, caller: Caller, artifact_id: str) -> tuple[bytes, rec.ArtifactRecord]:
        """(session key, record) of a live artifact the caller's tenant holds, or ArtifactNotFound."""
        validation.session_id(artifact_id, "artifact_id")
        session_id = self.storage.get("artifacts", rec.id_key(caller.tenant, artifact_id))
        raw = None
        if session_id is not None:
            skey = keys.session_key(caller.tenant, session_id.decode())
            raw = self.storage.get("artifacts", rec.record_key(skey, artifact_id))
        if raw is None:
            raise ArtifactNotFound(f"artifact {artifact_id} not found", artifact_id=artifact_id)
        record = rec.decode_record(raw)
        if not record.live:
            raise ArtifactNotFound(f"artifact {artifact_id} was deleted", artifact_id=artifact_id)
        self.fetch(caller, record.artifact.session_id)  # the caller must be allowed to read its session
        return skey, record

    def get_artifact_info(
        self,
        artifact_id: str = "",
        *,
        session_id: str = "",
        name: str = "",
        version: int = 0,
        caller: Caller | None = None,
    ) -> Artifact:
        """An artifact's metadata, by id or by session, name and version (0 = latest)."""
        c = self._caller(caller)
        self.require(c, Role.READER)
        if artifact_id:
            return self.find_record(c, artifact_id)[1].artifact
        skey, _ = self.fetch(c, session_id)
        validation.name(name, required=True)
        if version < 0:
            raise InvalidArgument("version must be >= 0", field="version")
        if version == 0:
            latest = self._latest(skey, name)
            if latest is None:
                raise ArtifactNotFound(f"no artifact named {name!r}", session_id=session_id, name=name)
            return latest.artifact
        found = self.storage.get("artifact_names", rec.name_key(skey, name, version))
        if found is None:
            raise ArtifactNotFound(f"no version {version} of {name!r}", session_id=session_id, name=name)
        return self.find_record(c, found.decode())[1].artifact

    # -- deleting ------------------------------------------------------------------------------------

    def delete_artifact(self, artifact_id: str, *, caller: Caller | None = None) -> None:
        """Deletes an artifact: its references are released, its history record stays."""
        c = self._caller(caller)
        self.require(c, Role.WRITER)
        with self.lock:
            skey, record = self.find_record(c, artifact_id)
            _, before = self.fetch_current(c, record.artifact.session_id)
            self._require_writable(before)
            batch = WriteBatch()
            after = clone_session(before)
            self.unlink_artifacts(batch, c, skey, [record], before.last_event_seq + 1, after)
            a = record.artifact
            payload = {"artifact_id": a.artifact_id, "name": a.name, "version": a.version}
            self.commit(c, skey, before, after, "artifact.deleted", payload, operation="delete_artifact", batch=batch)

    def unlink_artifacts(
        self,
        batch: WriteBatch,
        caller: Caller,
        skey: bytes,
        records: Iterable[rec.ArtifactRecord],
        seq: int,
        session: Session,
    ) -> None:
        """Adds to batch: records become history (deleted at seq), references are dropped, and the
        session's counters (in ``session``, a copy about to be committed) go down."""
        dropped: Counter[bytes] = Counter()
        for record in records:
            a = record.artifact
            record.deleted_seq = seq
            batch.put("artifacts", rec.record_key(skey, a.artifact_id), rec.encode_record(record))
            batch.delete("artifact_names", rec.name_key(skey, a.name, a.version))
            dropped.update(d for d, _ in record.chunks)
            session.artifact_count -= 1
            session.artifact_bytes -= a.size
        self.content.drop_references(batch, caller.tenant, dropped, to_micros(now()), self._grace_us())

    def release_session_artifacts(self, batch: WriteBatch, caller: Caller, skey: bytes, session: Session) -> None:
        dropped: Counter[bytes] = Counter()
        for _, raw in self.storage.scan("artifacts", skey):
            record = rec.decode_record(raw)
            batch.delete("artifacts", rec.id_key(caller.tenant, record.artifact.artifact_id))
            if record.live:
                dropped.update(d for d, _ in record.chunks)
        self.content.drop_references(batch, caller.tenant, dropped, to_micros(now()), self._grace_us())
        super().release_session_artifacts(batch, caller, skey, session)

    def collect_garbage(self) -> int:
        """Deletes chunks nobody referenced for the grace period."""
        return self.content.collect(to_micros(now()), self.lock)

    def compact_segments(self, settle: float = SETTLE_SECONDS) -> tuple[int, int]:
        """Reclaims the disk space of collected chunks; returns (segments compacted, bytes freed)."""
        return compact_segments(self.content, self.lock, self.config.segment_compaction_ratio, settle)


def _stored_payload(a: Artifact) -> dict:
    return {
        "artifact_id": a.artifact_id,
        "name": a.name,
        "version": a.version,
        "size": a.size,
        "content_digest": a.content_digest,
        "type": ArtifactType(a.type).name,
    }


def _validated(header: UploadHeader) -> UploadHeader:
    validation.session_id(header.session_id)
    validation.name(header.name, required=True)
    if header.type == ArtifactType.CUSTOM and not header.custom_type:
        raise InvalidArgument("custom_type is required for ARTIFACT_TYPE_CUSTOM", field="custom_type")
    validation.text(header.custom_type, "custom_type", max_bytes=255)
    validation.description(header.description)
    header.tags = validation.tags(header.tags)
    validation.text(header.mime_type, "mime_type", max_bytes=255)
    header.metadata = validation.metadata(header.metadata)
    validation.optional_session_id(header.parent_artifact_id, "parent_artifact_id")
    if header.expected_size < 0 or header.write_offset < 0:
        raise InvalidArgument("expected_size and write_offset must not be negative", field="expected_size")
    if header.expected_digest and (len(header.expected_digest) != 64 or not _is_hex(header.expected_digest)):
        raise InvalidArgument("expected_digest must be 64 lowercase hex characters", field="expected_digest")
    if header.upload_id:
        valid_upload_id(header.upload_id)
    validation.request_id(header.request_id)
    return header


def _is_hex(text: str) -> bool:
    return all(ch in "0123456789abcdef" for ch in text)
