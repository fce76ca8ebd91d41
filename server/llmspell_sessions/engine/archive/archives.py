"""Archives: export sessions to one portable file, import them into any store (docs/archive-format.md).

Export reads each session under its lock (so its record, state, log, checkpoints and artifacts agree)
with the caller's READ access checked, pins the chunks of its live artifacts, and writes the tar
stream. Import verifies the whole archive first (reader.py), stores the chunk bytes the store lacks
(unreferenced until the commit, like an upload's), and then writes every new session in ONE unit of
work: records with their whole log, state, checkpoints, artifact records and references, with the
quotas checked at its commit. So a bad archive, a conflict or a quota writes nothing.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import BinaryIO

import orjson
from blake3 import blake3

from ...cas import ChunkRecord, ContentStore
from ...cas.pipeline import compress_chunk
from ...errors import AccessDenied, ArchiveConflict, InvalidArgument, MissingChunks
from ...model import Caller, ImportReport, Role, Session
from ...storage import Storage, keys
from .. import validation
from ..admission import READ
from ..artifacts import ArtifactStore
from ..codec import clone_session, now
from ..limits import Limits
from ..records import SessionRecords
from ..replay import store as checkpoints
from ..unit_of_work import UnitOfWork, Units
from . import reader, writer
from .reader import Archive, ArchivedSession

MAX_EXPORT_SESSIONS = 1000
WRITE_BATCH_BYTES = 4 * 1024 * 1024


class Archives:
    """ExportSessions and ImportSessions."""

    def __init__(
        self,
        units: Units,
        storage: Storage,
        records: SessionRecords,
        content: ContentStore,
        artifacts: ArtifactStore,
        threshold: int,
        limits: Limits,
    ) -> None:
        self._units, self._storage, self._records = units, storage, records
        self._content, self._artifacts, self._threshold = content, artifacts, threshold
        self._limits = limits

    # -- export -------------------------------------------------------------------------------------

    def export(self, caller: Caller, session_ids: Sequence[str], out: BinaryIO) -> None:
        """Writes the sessions (READ access to each) and their chunks to out as one archive."""
        ids = list(dict.fromkeys(validation.session_id(s, "session_ids") for s in session_ids))
        if not ids or len(ids) > MAX_EXPORT_SESSIONS:
            raise InvalidArgument(f"give 1 to {MAX_EXPORT_SESSIONS} session ids", field="session_ids")
        members: list[tuple[str, bytes]] = []
        chunks: dict[bytes, int] = {}
        pinned: list[bytes] = []
        try:
            for sid in ids:
                with self._units.begin(caller) as uow:  # a locked read: nothing is committed
                    skey, session = uow.session(sid, READ)
                    data, live = self._member(skey, session)
                    new = [d for d in live if d not in chunks]
                    self._content.pin(new)  # before the lock goes: a delete cannot let GC take them
                    pinned += new
                chunks.update(live)
                members.append((sid, data))
            writer.write_archive(out, members, chunks, self._content.read_chunk, now())
        finally:
            self._content.unpin(pinned)

    def _member(self, skey: bytes, session: Session) -> tuple[bytes, dict[bytes, int]]:
        """(member bytes, live chunk digest -> size) of a session (call with its row locked)."""
        return writer.encode_member(writer.session_lines(self._storage, self._artifacts, skey, session))

    # -- import -------------------------------------------------------------------------------------

    def import_(self, caller: Caller, source: BinaryIO) -> ImportReport:
        """Imports every session of the archive that the caller's tenant lacks; identical ones are
        skipped, different ones are a conflict (nothing written)."""
        with _seekable(source, self._limits) as file:
            archive = reader.read_archive(file)
            _check_owner(caller, archive)
            with self._units.begin(caller) as uow:
                todo, skipped = self._classify(uow, archive)
            report = ImportReport([s.session.session_id for s in todo], skipped)
            if not todo:
                return report
            needed: Counter[bytes] = sum((s.live_chunks() for s in todo), Counter())
            digests = sorted(needed)
            self._content.pin(digests)
            try:
                new_records = self._store_chunks(archive, digests, report)
                with self._units.begin(caller) as uow:
                    again, _ = self._classify(uow, archive)
                    if [s.session.session_id for s in again] != report.imported:
                        raise ArchiveConflict("sessions of the archive were written meanwhile; retry the import")
                    self._content.put_new_chunks(uow.batch, new_records)
                    known = [d for d in digests if d not in new_records]
                    if any(r is None for r in self._content.records(known)):
                        raise MissingChunks("a chunk the import relied on was collected; retry the import")
                    for session in todo:
                        self._restore(uow, session)
                    uow.commit()
            finally:
                self._content.unpin(digests)
            return report

    def _classify(self, uow: UnitOfWork, archive: Archive) -> tuple[list[ArchivedSession], list[str]]:
        """(sessions to create, ids already there and identical), under the sessions' locks;
        ArchiveConflict for one that is there with another history."""
        todo, skipped = [], []
        for archived in archive.sessions:
            sid = archived.session.session_id
            skey = keys.session_key(uow.caller.tenant, sid)
            uow.lock_row(("sessions", skey))
            if self._records.load(skey) is None:
                todo.append(archived)
                continue
            skey, existing = uow.session(sid, READ)
            data, _ = self._member(skey, existing)
            if blake3(data).hexdigest() != archived.member_digest:
                raise ArchiveConflict(
                    f"session {sid} exists with another history (delete it to import the archive's)", session_id=sid
                )
            skipped.append(sid)
        return todo, skipped

    def _store_chunks(self, archive: Archive, digests: list[bytes], report: ImportReport) -> dict[bytes, ChunkRecord]:
        """Appends (and syncs) the bytes of the chunks the store lacks; their records go in the commit."""
        missing = [d for d, r in zip(digests, self._content.reusable(digests), strict=True) if r is None]
        new: dict[bytes, ChunkRecord] = {}
        batch: list[tuple[bytes, bytes, int, bool]] = []
        for index, digest in enumerate(missing):
            data = archive.read_chunk(digest)
            stored, compressed = compress_chunk(data, self._threshold)
            batch.append((digest, bytes(stored), len(data), compressed))
            if sum(len(b[1]) for b in batch) >= WRITE_BATCH_BYTES or index == len(missing) - 1:
                locations = self._content.blobs.append([(d, s) for d, s, _, _ in batch])
                for (d, s, size, c), location in zip(batch, locations, strict=True):
                    new[d] = ChunkRecord(location, len(s), size, c)
                    report.bytes_stored += len(s)
                batch = []
        if new:
            self._content.blobs.sync()
        report.chunks_stored = len(new)
        return new

    def _restore(self, uow: UnitOfWork, archived: ArchivedSession) -> None:
        session = clone_session(archived.session)
        session.expire_time = self._records.expiry(session, uow.time)  # timeouts run from the import
        skey = keys.session_key(uow.caller.tenant, session.session_id)
        uow.restore(skey, session, archived.events)
        for key, value in archived.state.items():
            uow.batch.put("state", keys.state_key(skey, key), orjson.dumps(value))
        for checkpoint, snapshot in archived.checkpoints:
            checkpoints.put_checkpoint(uow.batch, skey, checkpoint, snapshot)
        self._artifacts.import_records(uow, skey, archived.artifacts)


def _check_owner(caller: Caller, archive: Archive) -> None:
    """Sessions keep their creator: only an admin may import sessions another subject created."""
    if caller.role >= Role.ADMIN:
        return
    for archived in archive.sessions:
        if archived.session.created_by != caller.subject:
            raise AccessDenied(
                f"session {archived.session.session_id} was created by another subject: an admin must import it",
                session_id=archived.session.session_id,
                subject=caller.subject,
            )


@contextmanager
def _seekable(source: BinaryIO, limits: Limits) -> Iterator[BinaryIO]:
    """source itself when it can seek (its size checked), else a temporary file holding it, never
    more than max_archive_bytes (the stream is cut off as soon as it passes)."""
    if source.seekable():
        limits.archive_size(source.seek(0, os.SEEK_END))
        source.seek(0)
        yield source
        return
    with tempfile.TemporaryFile() as spool:
        size = 0
        while piece := source.read(1024 * 1024):
            size += len(piece)
            limits.archive_size(size)
            spool.write(piece)
        spool.seek(0)
        yield spool  # type: ignore[misc]
