"""Resumable uploads: their persisted progress, which stream owns each, and their expiry.

An upload id belongs to the session (and name) of the stream that started it: the first stream
records that at once, and a stream for another session, or a caller without write access to the
session, cannot resume, query or take over the upload. Progress holds references to the chunks
received so far, so GC keeps them until the upload finishes, is discarded or expires (24 h).

The stream that owns an upload is recorded with its progress (a random token each stream claims),
not in memory: a stream that resumes an upload on another server, after the first one died,
supersedes it there too, and a draining older stream can no longer write progress.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import orjson

from ...cas import ContentStore
from ...errors import InvalidArgument, LlmspellError, UploadNotFound
from ...model import Caller, UploadStatus
from ...storage import Storage, keys
from ..admission import WRITE, Admission, system_caller
from ..codec import now, to_micros
from ..limits import UPLOAD_TTL_SECONDS
from ..unit_of_work import UnitOfWork, Units

if TYPE_CHECKING:
    from .upload import ArtifactUpload


@dataclass(slots=True)
class Progress:
    """What the store holds of one resumable upload."""

    session_id: str
    name: str
    subject: str
    created_us: int
    committed_size: int = 0
    new_bytes: int = 0
    chunks: list[tuple[bytes, int]] = field(default_factory=list)
    artifact_id: str = ""  # set once the upload finished
    owner: str = ""  # the token of the stream that claimed it last

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "session_id": self.session_id,
                "name": self.name,
                "subject": self.subject,
                "created_us": self.created_us,
                "committed_size": self.committed_size,
                "new_bytes": self.new_bytes,
                "chunks": [(d.hex(), n) for d, n in self.chunks],
                "artifact_id": self.artifact_id,
                "owner": self.owner,
            }
        )

    @classmethod
    def decode(cls, raw: bytes) -> Progress | None:
        """None for entries that are not progress records (8-byte staged markers of older releases)."""
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        return cls(
            str(data.get("session_id", "")),
            str(data.get("name", "")),
            str(data.get("subject", "")),
            int(data.get("created_us", 0)),
            int(data.get("committed_size", 0)),
            int(data.get("new_bytes", 0)),
            [(bytes.fromhex(d), int(n)) for d, n in data.get("chunks", [])],
            str(data.get("artifact_id", "")),
            str(data.get("owner", "")),
        )


class UploadProgress:
    """Persisted progress and stream ownership of resumable uploads."""

    def __init__(self, units: Units, storage: Storage, content: ContentStore, admission: Admission) -> None:
        self._units = units
        self._storage = storage
        self._content = content
        self._admission = admission

    def load(self, tenant: str, upload_id: str) -> Progress | None:
        raw = self._storage.get("uploads", keys.upload_key(tenant, upload_id))
        return Progress.decode(raw) if raw else None

    # -- starting and owning ---------------------------------------------------------------------

    def claim(self, upload: ArtifactUpload) -> str:
        """Makes upload the stream of its upload id and resumes from what is held; returns the id of
        the artifact the upload already produced ("" unless it had finished)."""
        header, caller = upload.header, upload.caller
        key = keys.upload_key(caller.tenant, header.upload_id)
        with self._units.begin(caller) as uow:
            uow.lock_row(("uploads", key))
            progress = self.load(caller.tenant, header.upload_id)
            if progress is None:
                if header.write_offset:
                    raise UploadNotFound(f"no upload {header.upload_id!r} to resume", upload_id=header.upload_id)
                progress = Progress(header.session_id, header.name, caller.subject, to_micros(uow.time))
            elif progress.session_id != header.session_id or progress.name != header.name:
                raise InvalidArgument("upload_id belongs to another upload (session or name)", field="upload_id")
            if progress.artifact_id:
                return progress.artifact_id
            if header.write_offset > progress.committed_size:
                raise InvalidArgument(
                    f"write_offset is past the committed_size {progress.committed_size}",
                    field="write_offset",
                    committed_size=progress.committed_size,
                )
            # The upload id is this session's from now on, and this stream its owner: a newer stream
            # of the same upload supersedes a draining one, on this server or another.
            progress.owner = os.urandom(12).hex()
            uow.batch.put("uploads", key, progress.encode())
            uow.commit()
            upload.owner_token = progress.owner
        try:
            upload.resume_from(progress.chunks, progress.new_bytes)
        except BaseException:
            self.release(upload)  # a failed start owns nothing
            raise
        # The old stream may have made more durable since the client asked: skip what is already held.
        upload.skip = progress.committed_size - header.write_offset
        return ""

    def owns(self, upload: ArtifactUpload) -> bool:
        """Whether the stream still owns its upload (inside a unit of work: after locking it)."""
        token = upload.owner_token
        progress = self.load(upload.caller.tenant, upload.header.upload_id) if token else None
        return progress is not None and progress.owner == token

    def release(self, upload: ArtifactUpload) -> None:
        """The stream ended (finished or not): it owns nothing any more."""
        upload.owner_token = ""

    # -- writing progress ---------------------------------------------------------------------------

    def persist(self, upload: ArtifactUpload) -> None:
        """Makes the chunks processed so far durable and referenced by the upload."""
        self._content.blobs.sync()
        with self._units.begin(upload.caller) as uow:
            uow.lock_row(("uploads", keys.upload_key(upload.caller.tenant, upload.header.upload_id)))
            if not self.owns(upload):
                return  # superseded by a newer stream of the same upload: its progress is the truth
            self._content.put_new_chunks(uow.batch, upload.new_records)
            uow.take(upload.caller.tenant, upload.occurrences())
            progress = self._progress_of(upload, to_micros(uow.time))
            uow.batch.put("uploads", keys.upload_key(upload.caller.tenant, upload.header.upload_id), progress.encode())
            uow.commit()
        upload.new_records.clear()
        upload.persisted = len(upload.chunks)

    def finished(self, uow: UnitOfWork, upload: ArtifactUpload, artifact_id: str) -> None:
        """Adds the record of a finished upload (answers a retry with its artifact) to the commit."""
        uow.lock_row(("uploads", keys.upload_key(upload.caller.tenant, upload.header.upload_id)))
        if not self.owns(upload):
            raise InvalidArgument("a newer stream of this upload_id took over", field="upload_id")
        progress = self._progress_of(upload, to_micros(uow.time))
        progress.chunks, progress.artifact_id = [], artifact_id
        uow.batch.put("uploads", keys.upload_key(upload.caller.tenant, upload.header.upload_id), progress.encode())

    @staticmethod
    def _progress_of(upload: ArtifactUpload, created_us: int) -> Progress:
        return Progress(
            upload.header.session_id,
            upload.header.name,
            upload.caller.subject,
            created_us,
            sum(n for _, n in upload.chunks),
            upload.new_bytes,
            list(upload.chunks),
            owner=upload.owner_token,
        )

    def drop(self, caller: Caller, upload_id: str, *, finished_too: bool = False) -> None:
        """Forgets an unfinished upload (a finished one too, if asked) and releases what it held."""
        key = keys.upload_key(caller.tenant, upload_id)
        with self._units.begin(caller) as uow:
            uow.lock_row(("uploads", key))
            raw = self._storage.get("uploads", key)
            progress = Progress.decode(raw) if raw else None
            if progress is not None and progress.artifact_id and not finished_too:
                return
            if progress is not None:
                uow.drop(caller.tenant, Counter(d for d, _ in progress.chunks))
            uow.batch.delete("uploads", key)
            uow.commit()

    # -- reading --------------------------------------------------------------------------------------

    def status(self, caller: Caller, upload_id: str, session_of: SessionReader) -> UploadStatus:
        """How much of a resumable upload the server holds; only for callers who may write its session."""
        progress = self.load(caller.tenant, upload_id)
        if progress is None or not session_of(caller, progress.session_id, WRITE):
            raise UploadNotFound(f"no upload {upload_id!r}", upload_id=upload_id)
        return UploadStatus(upload_id, progress.committed_size, bool(progress.artifact_id), progress.artifact_id)

    # -- expiry ---------------------------------------------------------------------------------------

    def expire(self) -> int:
        """Drops uploads older than 24 hours (finished records too), and entries that are not
        progress records at all (staged markers older releases kept here)."""
        limit = to_micros(now()) - UPLOAD_TTL_SECONDS * 1_000_000
        expired = []
        for key, raw in self._storage.scan("uploads", b""):
            progress = Progress.decode(raw)
            if progress is None or progress.created_us < limit:
                expired.append(key)
        for key in expired:
            tenant, _, upload_id = key.partition(b"\x00")
            self.drop(system_caller(tenant.decode()), upload_id.decode(), finished_too=True)
        return len(expired)


class SessionReader:
    """Answers whether a caller may access a session (False for a missing one)."""

    def __init__(self, units: Units) -> None:
        self._units = units

    def __call__(self, caller: Caller, session_id: str, access: str) -> bool:
        try:
            self._units.read_session(caller, session_id, access)
        except LlmspellError:  # missing, malformed or refused: either way the caller may not
            return False
        return True
