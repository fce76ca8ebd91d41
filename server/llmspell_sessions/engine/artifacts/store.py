"""ArtifactStore: artifact records — uploads started and committed, reads by id or name, deletes,
and what history (fork, rewind) does to artifacts. Every rule about names, versions and references
lives here; limits and quotas are the unit of work's.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from ...cas import ChunkRecord, ContentStore
from ...errors import ArchiveConflict, ArtifactNotFound, InvalidArgument, MissingChunks
from ...model import Artifact, ArtifactType, Caller, EventSpec, SessionState, UploadHeader
from ...storage import Storage, keys
from .. import validation
from ..admission import READ, WRITE
from ..codec import clone_session
from ..ids import uuid7
from ..limits import Limits
from ..records import SessionRecords
from ..sessions import require_active, require_writable
from ..unit_of_work import UnitOfWork, Units
from .progress import UploadProgress
from .records import ArtifactRecord, decode_record, encode_record
from .upload import ArtifactUpload


@dataclass(slots=True)
class NewContent:
    """The content of an artifact about to be committed, however it arrived."""

    chunks: list[tuple[bytes, int]]
    size: int
    content_digest: str
    new_bytes: int
    stored: dict[bytes, tuple[int, bool]]  # digest -> (stored size, compressed)
    new_records: dict[bytes, ChunkRecord] = field(default_factory=dict)
    references: Counter[bytes] = field(default_factory=Counter)  # references still to take


Finisher = Callable[[UnitOfWork, Artifact], None]


class ArtifactStore:
    """Artifact records and their references."""

    def __init__(
        self,
        units: Units,
        records: SessionRecords,
        storage: Storage,
        content: ContentStore,
        limits: Limits,
        progress: UploadProgress,
        threshold: int,
    ) -> None:
        self._units = units
        self._records = records
        self._storage = storage
        self._content = content
        self._limits = limits
        self._progress = progress
        self._threshold = threshold

    # -- starting an upload ---------------------------------------------------------------------

    def begin_upload(self, caller: Caller, header: UploadHeader) -> ArtifactUpload:
        """Validates the header and the session, and returns the writer for the artifact's bytes."""
        header = validated_header(header)
        skey, session = self._units.read_session(caller, header.session_id, WRITE)
        require_active(session)
        used = (session.artifact_bytes, self._records.tenant_usage(caller.tenant))

        def writer(existing: Artifact | None = None) -> ArtifactUpload:
            return ArtifactUpload(
                self, self._content, self._limits, self._threshold, caller, skey, header, used, existing
            )

        if header.request_id:
            existing = self.for_request(caller, skey, header.request_id)
            if existing is not None:
                return writer(existing)
        self._limits.artifact_count(session.session_id, session.artifact_count + 1)
        if header.parent_artifact_id:
            self.find_record(caller, header.parent_artifact_id)
        upload = writer()
        if header.upload_id:
            finished = self._progress.claim(upload)
            if finished:  # a retry of an upload that completed: answer with its artifact
                upload.existing = self.find_record(caller, finished)[1].artifact
        elif header.write_offset:
            raise InvalidArgument("write_offset needs an upload_id", field="write_offset")
        return upload

    def for_request(self, caller: Caller, skey: bytes, request_id: str) -> Artifact | None:
        """The artifact an earlier write with this request id made in this session, if it lives."""
        artifact_id = self._storage.get("artifact_names", keys.artifact_request_key(skey, request_id))
        if artifact_id is None:
            return None
        try:
            return self.find_record(caller, artifact_id.decode())[1].artifact
        except ArtifactNotFound:
            return None

    # -- what an upload needs (UploadOwner) -------------------------------------------------------------

    def commit_upload(self, upload: ArtifactUpload) -> Artifact:
        content = NewContent(
            upload.chunks,
            upload.size,
            upload.content_digest,
            upload.new_bytes,
            upload.stored,
            upload.new_records,
            upload.occurrences(),
        )
        finish = None
        if upload.header.upload_id:

            def finish(uow: UnitOfWork, artifact: Artifact) -> None:
                self._progress.finished(uow, upload, artifact.artifact_id)

        try:
            return self.commit(upload.caller, upload.header, content, finish)
        finally:
            if upload.header.upload_id:
                self._progress.release(upload)

    def persist_progress(self, upload: ArtifactUpload) -> None:
        self._progress.persist(upload)

    def release_upload(self, upload: ArtifactUpload, keep_progress: bool) -> None:
        if not upload.header.upload_id:
            return
        owned = self._progress.owns(upload)
        self._progress.release(upload)
        if not keep_progress and owned:
            self._progress.drop(upload.caller, upload.header.upload_id)

    # -- committing -----------------------------------------------------------------------------------

    def commit(self, caller: Caller, header: UploadHeader, content: NewContent, finish: Finisher | None) -> Artifact:
        """Writes the artifact, its references, its name/version entries and artifact.stored at once."""
        with self._units.begin(caller) as uow:
            skey, before = uow.session(header.session_id, WRITE)
            require_active(before)
            if header.request_id:  # again, under the session's lock: another stream may have won
                existing = self.for_request(caller, skey, header.request_id)
                if existing is not None:
                    return existing
            unique = list(dict.fromkeys(d for d, _ in content.chunks))
            uow.lock_chunks(unique)
            self._content.put_new_chunks(uow.batch, content.new_records)
            known = [d for d in unique if d not in content.new_records]
            if any(r is None for r in self._content.records(known)):
                raise MissingChunks("a chunk this upload relied on is gone; retry the upload")
            uow.take(caller.tenant, content.references)
            artifact = self._new_artifact(caller, skey, header, content, uow)
            record = ArtifactRecord(artifact, content.chunks, stored_seq=before.last_event_seq + 1)
            self._put(uow, caller, skey, record)
            if header.request_id:
                uow.batch.put(
                    "artifact_names", keys.artifact_request_key(skey, header.request_id), artifact.artifact_id.encode()
                )
            if finish is not None:
                finish(uow, artifact)
            after = clone_session(before)
            after.artifact_count += 1
            after.artifact_bytes += artifact.size
            spec = EventSpec("artifact.stored", stored_payload(artifact))
            uow.record(skey, before, after, [spec], operation="store_artifact")
            uow.commit()
        content.new_records.clear()
        return artifact

    def _new_artifact(
        self, caller: Caller, skey: bytes, header: UploadHeader, content: NewContent, uow: UnitOfWork
    ) -> Artifact:
        counter = self._storage.get("artifact_names", keys.version_counter_key(skey, header.name))
        previous = self.latest(skey, header.name)
        unique = {d: content.stored[d] for d, _ in content.chunks}
        return Artifact(
            artifact_id=uuid7(),
            session_id=header.session_id,
            name=header.name,
            version=(int(counter) if counter else 0) + 1,
            type=header.type,
            custom_type=header.custom_type,
            description=header.description,
            tags=header.tags,
            mime_type=header.mime_type,
            metadata=header.metadata,
            size=content.size,
            content_digest=content.content_digest,
            stored_size=sum(s for s, _ in unique.values()),
            compressed=any(c for _, c in unique.values()),
            chunk_count=len(content.chunks),
            new_bytes=content.new_bytes,
            parent_artifact_id=header.parent_artifact_id,
            previous_digest=previous.artifact.content_digest if previous else "",
            create_time=uow.time,
            created_by=caller.subject,
        )

    def _put(self, uow: UnitOfWork, caller: Caller, skey: bytes, record: ArtifactRecord) -> None:
        a, batch = record.artifact, uow.batch
        batch.put("artifacts", keys.artifact_key(skey, a.artifact_id), encode_record(record))
        batch.put("artifacts", keys.artifact_id_key(caller.tenant, a.artifact_id), a.session_id.encode())
        batch.put("artifact_names", keys.artifact_name_key(skey, a.name, a.version), a.artifact_id.encode())
        batch.put("artifact_names", keys.version_counter_key(skey, a.name), str(a.version).encode())

    # -- reading ----------------------------------------------------------------------------------------

    def find_record(self, caller: Caller, artifact_id: str, access: str = READ) -> tuple[bytes, ArtifactRecord]:
        """(session key, record) of a live artifact in a session the caller may access, or ArtifactNotFound."""
        validation.session_id(artifact_id, "artifact_id")
        session_id = self._storage.get("artifacts", keys.artifact_id_key(caller.tenant, artifact_id))
        raw = None
        if session_id is not None:
            skey = keys.session_key(caller.tenant, session_id.decode())
            raw = self._storage.get("artifacts", keys.artifact_key(skey, artifact_id))
        if raw is None:
            raise ArtifactNotFound(f"artifact {artifact_id} not found", artifact_id=artifact_id)
        record = decode_record(raw)
        if not record.live:
            raise ArtifactNotFound(f"artifact {artifact_id} was deleted", artifact_id=artifact_id)
        self._units.read_session(caller, record.artifact.session_id, access)
        return skey, record

    def info(self, caller: Caller, artifact_id: str, session_id: str, name: str, version: int) -> Artifact:
        """An artifact's metadata, by id or by session, name and version (0 = latest)."""
        if artifact_id:
            return self.find_record(caller, artifact_id)[1].artifact
        skey, _ = self._units.read_session(caller, session_id, READ)
        validation.name(name, required=True)
        if version < 0:
            raise InvalidArgument("version must be >= 0", field="version")
        if version == 0:
            latest = self.latest(skey, name)
            if latest is None:
                raise ArtifactNotFound(f"no artifact named {name!r}", session_id=session_id, name=name)
            return latest.artifact
        found = self._storage.get("artifact_names", keys.artifact_name_key(skey, name, version))
        if found is None:
            raise ArtifactNotFound(f"no version {version} of {name!r}", session_id=session_id, name=name)
        return self.find_record(caller, found.decode())[1].artifact

    def latest(self, skey: bytes, name: str) -> ArtifactRecord | None:
        for _, artifact_id in self._storage.scan("artifact_names", keys.artifact_name_prefix(skey, name), reverse=True):
            raw = self._storage.get("artifacts", keys.artifact_key(skey, artifact_id.decode()))
            if raw is not None:
                return decode_record(raw, with_chunks=False)
        return None

    def session_records(self, skey: bytes, *, with_chunks: bool = False) -> Iterator[ArtifactRecord]:
        """Every artifact record of a session, deleted ones included, in id (= creation) order."""
        width = len(skey) + 36
        for key, raw in self._storage.scan("artifacts", skey):
            if len(key) == width:
                yield decode_record(raw, with_chunks=with_chunks)

    def latest_artifacts(self, skey: bytes) -> list[Artifact]:
        """The latest live version of each name, by name."""
        latest: dict[str, Artifact] = {}
        for record in self.session_records(skey):
            a = record.artifact
            if record.live and (a.name not in latest or latest[a.name].version < a.version):
                latest[a.name] = a
        return sorted(latest.values(), key=lambda a: a.name)

    def records_of(self, skey: bytes, artifact_ids: Iterable[str], *, with_chunks: bool = True) -> list[ArtifactRecord]:
        ids = list(artifact_ids)
        raws = self._storage.multi_get("artifacts", [keys.artifact_key(skey, i) for i in ids])
        return [decode_record(r, with_chunks=with_chunks) for r in raws if r is not None]

    # -- deleting ------------------------------------------------------------------------------------------

    def delete(self, caller: Caller, artifact_id: str) -> None:
        """Deletes an artifact: its references are released, its history record stays."""
        with self._units.begin(caller) as uow:
            _, record = self.find_record(caller, artifact_id, WRITE)
            _, before = uow.session(record.artifact.session_id, WRITE)
            skey, record = self.find_record(caller, artifact_id, WRITE)  # again, now that it is locked
            require_writable(before)
            after = clone_session(before)
            self.unlink(uow, skey, [record], before.last_event_seq + 1)
            a = record.artifact
            after.artifact_count -= 1
            after.artifact_bytes -= a.size
            payload = {"artifact_id": a.artifact_id, "name": a.name, "version": a.version}
            uow.record(skey, before, after, [EventSpec("artifact.deleted", payload)], operation="delete_artifact")
            uow.commit()

    def expire_versions(self, caller: Caller, session_id: str, keep: int, *, dry_run: bool = False) -> list[Artifact]:
        """Deletes every live version of each name but the newest ``keep`` (retention), one
        artifact.deleted event each with reason "retention", in one unit; returns them (only lists
        them with dry_run). Archived sessions are left as they are."""
        with self._units.begin(caller) as uow:
            skey, before = uow.session(session_id, WRITE)
            if before.state == SessionState.ARCHIVED:
                return []
            versions: dict[bytes, list[str]] = {}
            for key, artifact_id in self._storage.scan("artifact_names", skey):
                rest = key[len(skey) :]
                if rest[:1] != b"\x01":  # version counters live beside the names
                    versions.setdefault(rest[:-5], []).append(artifact_id.decode())
            doomed = [i for ids in versions.values() for i in ids[: max(len(ids) - keep, 0)]]  # oldest first
            records = self.records_of(skey, doomed)
            if dry_run or not records:
                return [r.artifact for r in records]
            after = clone_session(before)
            specs = []
            for n, record in enumerate(records):
                a = record.artifact
                self.unlink(uow, skey, [record], before.last_event_seq + 1 + n)
                after.artifact_count -= 1
                after.artifact_bytes -= a.size
                payload = {"artifact_id": a.artifact_id, "name": a.name, "version": a.version, "reason": "retention"}
                specs.append(EventSpec("artifact.deleted", payload))
            uow.record(skey, before, after, specs, operation="expire_artifact_versions")
            uow.commit()
            return [r.artifact for r in records]

    def unlink(self, uow: UnitOfWork, skey: bytes, records: Iterable[ArtifactRecord], seq: int) -> None:
        """Adds to the unit: records become history (deleted at seq) and their references are dropped;
        the caller sets the session's counters."""
        dropped: Counter[bytes] = Counter()
        for record in records:
            a = record.artifact
            record.deleted_seq = seq
            uow.batch.put("artifacts", keys.artifact_key(skey, a.artifact_id), encode_record(record))
            uow.batch.delete("artifact_names", keys.artifact_name_key(skey, a.name, a.version))
            dropped.update(d for d, _ in record.chunks)
        uow.drop(uow.caller.tenant, dropped)

    def release_session(self, uow: UnitOfWork, skey: bytes) -> None:
        """Adds the removal of all a session's artifacts (and the references of the live ones)."""
        dropped: Counter[bytes] = Counter()
        for record in self.session_records(skey, with_chunks=True):
            uow.batch.delete("artifacts", keys.artifact_id_key(uow.caller.tenant, record.artifact.artifact_id))
            if record.live:
                dropped.update(d for d, _ in record.chunks)
        uow.drop(uow.caller.tenant, dropped)
        uow.batch.delete_prefix("artifacts", skey)
        uow.batch.delete_prefix("artifact_names", skey)

    def import_records(self, uow: UnitOfWork, skey: bytes, records: Iterable[ArtifactRecord]) -> None:
        """Adds artifact records as an archive holds them (import, ids kept): their name and version
        entries, and the references of the live ones. An id the tenant already uses is a conflict."""
        records = list(records)
        ids = [r.artifact.artifact_id for r in records]
        taken = self._storage.multi_get("artifacts", [keys.artifact_id_key(uow.caller.tenant, i) for i in ids])
        if any(t is not None for t in taken):
            sid = skey[-36:].decode()
            raise ArchiveConflict("an artifact id of the archive is in use in this tenant", session_id=sid)
        versions: dict[str, int] = {}
        references: Counter[bytes] = Counter()
        for record in records:
            a, batch = record.artifact, uow.batch
            batch.put("artifacts", keys.artifact_key(skey, a.artifact_id), encode_record(record))
            batch.put("artifacts", keys.artifact_id_key(uow.caller.tenant, a.artifact_id), a.session_id.encode())
            versions[a.name] = max(versions.get(a.name, 0), a.version)
            if record.live:
                batch.put("artifact_names", keys.artifact_name_key(skey, a.name, a.version), a.artifact_id.encode())
                references.update(d for d, _ in record.chunks)
        for name, version in versions.items():
            uow.batch.put("artifact_names", keys.version_counter_key(skey, name), str(version).encode())
        uow.take(uow.caller.tenant, references)

    # -- history: fork and rewind ------------------------------------------------------------------------

    def require_content(self, records: Iterable[ArtifactRecord]) -> None:
        """MissingChunks unless every chunk of these artifacts is still stored (call in a unit of work:
        GC deletes under the same lock, so what is found here stays until the commit)."""
        for record in records:
            digests = [d for d, _ in record.chunks]
            if any(r is None for r in self._content.records(digests)):
                raise MissingChunks(
                    f"artifact {record.artifact.artifact_id}'s content was reclaimed",
                    artifact_id=record.artifact.artifact_id,
                )

    def copy_to(self, uow: UnitOfWork, source: bytes, target: bytes, artifact_ids: Iterable[str]) -> list[Artifact]:
        """Adds copies of artifacts (by reference: no bytes copied) to another session of the tenant."""
        records = self.records_of(source, artifact_ids)
        self.require_content(records)
        copies, taken = [], Counter[bytes]()
        target_session = keys.split_session_key(target)[1]
        for record in records:
            a = record.artifact
            copy = dataclasses.replace(
                a,
                artifact_id=uuid7(),
                session_id=target_session,
                new_bytes=0,
                parent_artifact_id=a.parent_artifact_id or a.artifact_id,
            )
            self._put(uow, uow.caller, target, ArtifactRecord(copy, record.chunks, stored_seq=1))
            taken.update(d for d, _ in record.chunks)
            copies.append(copy)
        uow.take(uow.caller.tenant, taken)
        return copies

    def restore(self, uow: UnitOfWork, skey: bytes, artifact_ids: Iterable[str]) -> None:
        """Adds the revival of deleted artifacts (rewind), taking their references again."""
        records = [r for r in self.records_of(skey, artifact_ids) if not r.live]
        self.require_content(records)
        taken: Counter[bytes] = Counter()
        for record in records:
            record.deleted_seq = 0
            a = record.artifact
            uow.batch.put("artifacts", keys.artifact_key(skey, a.artifact_id), encode_record(record))
            uow.batch.put("artifact_names", keys.artifact_name_key(skey, a.name, a.version), a.artifact_id.encode())
            taken.update(d for d, _ in record.chunks)
        uow.take(uow.caller.tenant, taken)

    def remove(self, uow: UnitOfWork, skey: bytes, artifact_ids: Iterable[str], seq: int) -> None:
        """Adds the deletion of live artifacts (rewind); the caller sets the session's counters."""
        records = [r for r in self.records_of(skey, artifact_ids) if r.live]
        self.unlink(uow, skey, records, seq)


def stored_payload(a: Artifact) -> dict:
    return {
        "artifact_id": a.artifact_id,
        "name": a.name,
        "version": a.version,
        "size": a.size,
        "content_digest": a.content_digest,
        "type": ArtifactType(a.type).name,
    }


def validated_header(header: UploadHeader) -> UploadHeader:
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
    if header.expected_digest:
        validation.digest(header.expected_digest, "expected_digest")
    if header.upload_id:
        validation.upload_id(header.upload_id)
    validation.request_id(header.request_id)
    return header
