"""SessionManager: the engine's public face, in-process; the gRPC server runs the same object.

It holds the operations and nothing else: each one asks admission for the caller (role and tenant
rate), then makes one call into the part that owns the rule. The parts are wired once, in
``parts.py``, with their dependencies passed in explicitly:

    Admission ── Units (unit of work: lock, records, content, hooks, listeners)
      ├─ Sessions ── SessionContents (StateStore + ArtifactStore)
      ├─ StateStore, SessionListing
      ├─ ArtifactStore ── UploadProgress, ContentStore ── BlobStore
      │    ├─ ChunkUploads (FindMissingChunks, UploadChunks, CommitArtifact)
      │    └─ ArtifactQueries (downloads, listings, stats)
      └─ history: EventLog, Subscriptions, TimeTravel, Checkpoints, ForkAndRewind, Replays
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from .. import hotpath
from ..cas.compaction import SETTLE_SECONDS, compact_segments
from ..config import SessionManagerConfig, load_config
from ..model import (
    Artifact,
    ArtifactType,
    BulkResult,
    Caller,
    ChangesApplied,
    Checkpoint,
    Event,
    EventSpec,
    ImportReport,
    LoadedSession,
    Page,
    Point,
    ReplayControl,
    ReplayFrame,
    ReplayStart,
    Role,
    Session,
    SessionRead,
    SessionSnapshot,
    SnapshotDiff,
    StorageStats,
    UploadHeader,
    UploadStatus,
)
from ..storage import BlobStore, Storage, build_blob_store, build_storage
from ..storage.probe import ping
from . import validation
from .artifacts import (
    ArtifactUpload,
    ChunkStaging,
)
from .codec import now, to_micros
from .hooks import HookRunner, load_hooks
from .parts import Parts
from .records import ACTIVE_COUNTER
from .replay import (
    EventSubscription,
    Replayer,
)
from .retention import BATCH as RETENTION_BATCH
from .retention import RetentionReport
from .store_format import open_format
from .store_snapshot import take_snapshot
from .timeouts import Sweeper

READER, WRITER, ADMIN = Role.READER, Role.WRITER, Role.ADMIN


class SessionManager:
    """Sessions, state, artifacts and history over one store; every rule of the service lives in its
    parts, and every operation passes admission first.

    Use it as a context manager (or call close()) so the store is closed and the sweeper stopped.
    """

    def __init__(
        self,
        config: SessionManagerConfig | None = None,
        *,
        storage: Storage | None = None,
        blobs: BlobStore | None = None,
        hooks: list[Any] | None = None,
        start_sweeper: bool = True,
        **overrides: Any,
    ) -> None:
        if config is None:
            config = load_config(overrides=overrides)[0]
        elif overrides:
            raise TypeError("pass either a config or keyword overrides, not both")
        self.config = config.validate()
        self._storage = storage if storage is not None else build_storage(config)
        try:
            open_format(self._storage)
        except BaseException:
            self._storage.close()
            raise
        runner = HookRunner([*load_hooks(config.hooks), *(hooks or [])])
        self._p = Parts(config, self._storage, blobs if blobs is not None else build_blob_store(config), runner)
        self._admit = self._p.admission.enter
        self._last_collection = time.monotonic()
        self._sweeper: Sweeper | None = None
        if start_sweeper:
            self._sweeper = Sweeper(self.maintain, config.sweep_interval)
            self._sweeper.start()

    # -- sessions -------------------------------------------------------------------------------

    def new_session(
        self,
        name: str = "",
        description: str = "",
        tags: Iterable[str] = (),
        metadata: Mapping[str, Any] | None = None,
        parent_session_id: str = "",
        request_id: str = "",
        *,
        caller: Caller | None = None,
    ) -> Session:
        """Creates an ACTIVE session and returns its record (create_session returns only the id)."""
        c = self._admit(caller, WRITER)
        return self._p.sessions.create(c, name, description, tags, metadata, parent_session_id, request_id)

    def create_session(
        self,
        name: str = "",
        description: str = "",
        tags: Iterable[str] = (),
        metadata: Mapping[str, Any] | None = None,
        parent_session_id: str = "",
        request_id: str = "",
        *,
        caller: Caller | None = None,
    ) -> str:
        """Creates an ACTIVE session and returns its id."""
        return self.new_session(
            name, description, tags, metadata, parent_session_id, request_id, caller=caller
        ).session_id

    def get_session(self, session_id: str, *, caller: Caller | None = None) -> Session:
        """The session's current record."""
        return self._p.sessions.get(self._admit(caller, READER), session_id)

    def list_sessions(
        self,
        page_size: int = 0,
        page_token: str = "",
        states: Iterable[Any] = (),
        tags: Iterable[str] = (),
        parent_session_id: str = "",
        created_by: str = "",
        create_time_after: datetime | None = None,
        create_time_before: datetime | None = None,
        search: str = "",
        order_by: str = "",
        *,
        caller: Caller | None = None,
    ) -> Page:
        """One page of the caller's sessions; ARCHIVED ones only when asked for by state."""
        c = self._admit(caller, READER)
        return self._p.listing.page(
            c,
            page_size,
            page_token,
            states,
            tags,
            parent_session_id,
            created_by,
            create_time_after,
            create_time_before,
            search,
            order_by,
        )

    def update_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        etag: str = "",
        caller: Caller | None = None,
    ) -> Session:
        """Changes the fields given (None = unchanged); ARCHIVED sessions are read-only."""
        c = self._admit(caller, WRITER)
        given = {"name": name, "description": description, "tags": tags, "metadata": metadata}
        return self._p.sessions.update(c, session_id, {k: v for k, v in given.items() if v is not None}, etag)

    def suspend_session(self, session_id: str, *, etag: str = "", caller: Caller | None = None) -> Session:
        """ACTIVE -> SUSPENDED."""
        return self._p.sessions.transition(self._admit(caller, WRITER), "suspend", session_id, etag)

    def resume_session(self, session_id: str, *, etag: str = "", caller: Caller | None = None) -> Session:
        """SUSPENDED -> ACTIVE (counts against max_sessions)."""
        return self._p.sessions.transition(self._admit(caller, WRITER), "resume", session_id, etag)

    def complete_session(self, session_id: str, *, etag: str = "", caller: Caller | None = None) -> Session:
        """ACTIVE or SUSPENDED -> COMPLETED."""
        return self._p.sessions.transition(self._admit(caller, WRITER), "complete", session_id, etag)

    def fail_session(
        self, session_id: str, reason: str = "", *, etag: str = "", caller: Caller | None = None
    ) -> Session:
        """ACTIVE or SUSPENDED -> FAILED, keeping the reason."""
        return self._p.sessions.transition(self._admit(caller, WRITER), "fail", session_id, etag, reason)

    def archive_session(self, session_id: str, *, etag: str = "", caller: Caller | None = None) -> Session:
        """COMPLETED or FAILED -> ARCHIVED (read-only, hidden from default listings)."""
        return self._p.sessions.transition(self._admit(caller, WRITER), "archive", session_id, etag)

    def delete_session(self, session_id: str, *, etag: str = "", caller: Caller | None = None) -> None:
        """Deletes the session with its state, events, checkpoints and artifacts."""
        self._p.sessions.delete(self._admit(caller, WRITER), session_id, etag)

    def bulk_session_action(
        self,
        action: str,
        *,
        states: Iterable[Any] = (),
        tags: Iterable[str] = (),
        parent_session_id: str = "",
        created_by: str = "",
        create_time_after: datetime | None = None,
        create_time_before: datetime | None = None,
        search: str = "",
        reason: str = "",
        dry_run: bool = False,
        page_size: int = 0,
        page_token: str = "",
        caller: Caller | None = None,
    ) -> BulkResult:
        """ "complete", "fail", "archive" or "delete" the sessions list_sessions' filters select (the
        caller's), up to page_size (default 100, max 1000) per call, oldest first; each through the
        single call's operation, a refusal skipping that session. With dry_run, nothing changes."""
        selection = {
            "states": states,
            "tags": tags,
            "parent_session_id": parent_session_id,
            "created_by": created_by,
            "create_time_after": create_time_after,
            "create_time_before": create_time_before,
            "search": search,
        }
        return self._p.bulk.run(
            self._admit(caller, READER),
            action,
            selection,
            reason=reason,
            dry_run=dry_run,
            page_size=page_size,
            page_token=page_token,
        )

    def save_session(self, session_id: str, *, durable: bool = True, caller: Caller | None = None) -> Session:
        """Appends session.saved and returns once it and everything before it is on disk (fsync)."""
        return self._p.sessions.save(self._admit(caller, WRITER), session_id, durable)

    def load_session(self, session_id: str, *, caller: Caller | None = None) -> LoadedSession:
        """The whole restorable session: record, state and the latest version of each artifact."""
        return self._p.sessions.load(self._admit(caller, READER), session_id)

    def grant_session_access(
        self, session_id: str, subject: str, access: str = "read", *, caller: Caller | None = None
    ) -> Session:
        """Admins only: lets another subject of the tenant "read" or "write" the session."""
        return self._p.sessions.set_grant(self._admit(caller, ADMIN), session_id, subject, access)

    def revoke_session_access(self, session_id: str, subject: str, *, caller: Caller | None = None) -> Session:
        """Admins only: takes a subject's grant back (applies at once to its open streams too)."""
        return self._p.sessions.set_grant(self._admit(caller, ADMIN), session_id, subject, None)

    def active_sessions(self, tenant: str) -> int:
        """How many ACTIVE sessions the tenant holds (max_sessions counts these)."""
        return self._p.records.counter(tenant, ACTIVE_COUNTER)

    # -- state ------------------------------------------------------------------------------------

    def set_session_state(
        self,
        session_id: str,
        entries: Mapping[str, Any] | None = None,
        delete_keys: Iterable[str] = (),
        *,
        etag: str = "",
        caller: Caller | None = None,
    ) -> Session:
        """Sets and deletes keys in one atomic step that appends one state.changed event."""
        return self._p.state.set(self._admit(caller, WRITER), session_id, entries or {}, delete_keys, etag)

    def get_session_state(
        self, session_id: str, keys: Iterable[str] = (), *, caller: Caller | None = None
    ) -> dict[str, Any]:
        """The values of the keys asked for (missing keys are left out); no keys means all."""
        return self._p.state.get(self._admit(caller, READER), session_id, keys)

    # -- batches: one framework operation, one call ------------------------------------------------

    def apply_changes(
        self,
        session_id: str,
        entries: Mapping[str, Any] | None = None,
        delete_keys: Iterable[str] = (),
        events: Sequence[EventSpec | Mapping[str, Any]] = (),
        *,
        create_entries: Mapping[str, Any] | None = None,
        expected_last_seq: int | None = None,
        etag: str = "",
        request_id: str = "",
        caller: Caller | None = None,
    ) -> ChangesApplied:
        """State sets, create-only sets and deletes plus client events in one atomic write."""
        return self._p.changes.apply(
            self._admit(caller, WRITER),
            session_id,
            entries=entries or {},
            delete_keys=delete_keys,
            create_entries=create_entries or {},
            events=events,
            expected_last_seq=expected_last_seq,
            etag=etag,
            request_id=request_id,
        )

    def read_session(
        self,
        session_id: str,
        *,
        state_keys: Iterable[str] = (),
        state_prefix: str = "",
        reverse: bool = False,
        start_after: str = "",
        page_size: int = 0,
        page_token: str = "",
        last_events: int = 0,
        event_types: Iterable[str] = (),
        artifact_names: Iterable[str] = (),
        related_session_ids: Iterable[str] = (),
        caller: Caller | None = None,
    ) -> SessionRead:
        """The record, state keys, a page of keys under a prefix, related sessions' states, the
        last events and the latest artifacts by name, in one read."""
        return self._p.changes.read(
            self._admit(caller, READER),
            session_id,
            state_keys=state_keys,
            state_prefix=state_prefix,
            reverse=reverse,
            start_after=start_after,
            page_size=page_size,
            page_token=page_token,
            last_events=last_events,
            event_types=event_types,
            artifact_names=artifact_names,
            related_session_ids=related_session_ids,
        )

    # -- artifacts --------------------------------------------------------------------------------

    def begin_upload(self, header: UploadHeader, *, caller: Caller | None = None) -> ArtifactUpload:
        """Validates the header and the session, and returns the writer for the artifact's bytes."""
        return self._p.artifacts.begin_upload(self._admit(caller, WRITER), header)

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

    def get_artifact(
        self, session_id: str, artifact_id: str = "", *, name: str = "", version: int = 0, caller: Caller | None = None
    ) -> tuple[Artifact, bytes]:
        """An artifact of a session, by id or by name and version (0 = latest), with all its bytes
        (for small artifacts; stream big ones)."""
        c = self._admit(caller, READER)
        return self._p.queries.get_whole(c, session_id, artifact_id, name=name, version=version)

    def read_artifact(
        self,
        artifact_id: str = "",
        offset: int = 0,
        limit: int = 0,
        *,
        session_id: str = "",
        name: str = "",
        version: int = 0,
        caller: Caller | None = None,
    ) -> tuple[Artifact, Iterator[bytes]]:
        """Metadata and the verified bytes [offset, offset+limit) chunk by chunk (limit 0 = to the
        end), of an artifact named by id or by session, name and version (0 = latest)."""
        c = self._admit(caller, READER)
        return self._p.queries.read(c, artifact_id, offset, limit, session_id=session_id, name=name, version=version)

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
        return self._p.artifacts.info(self._admit(caller, READER), artifact_id, session_id, name, version)

    def list_artifacts(
        self,
        session_id: str,
        types: Iterable[ArtifactType] = (),
        tags: Iterable[str] = (),
        name_pattern: str = "",
        mime_type: str = "",
        min_size: int = 0,
        max_size: int = 0,
        create_time_after: datetime | None = None,
        create_time_before: datetime | None = None,
        all_versions: bool = False,
        order_by: str = "",
        page_size: int = 0,
        page_token: str = "",
        *,
        caller: Caller | None = None,
    ) -> Page:
        """One page of a session's artifacts (latest version of each name unless all_versions)."""
        return self._p.queries.list(
            self._admit(caller, READER),
            session_id,
            types,
            tags,
            name_pattern,
            mime_type,
            min_size,
            max_size,
            create_time_after,
            create_time_before,
            all_versions,
            order_by,
            page_size,
            page_token,
        )

    def delete_artifact(self, artifact_id: str, *, caller: Caller | None = None) -> None:
        """Deletes an artifact: its references are released, its history record stays."""
        self._p.artifacts.delete(self._admit(caller, WRITER), artifact_id)

    def query_upload_status(self, upload_id: str, *, caller: Caller | None = None) -> UploadStatus:
        """How much of a resumable upload the server holds (for callers who may write its session)."""
        c = self._admit(caller, WRITER)
        return self._p.progress.status(c, validation.upload_id(upload_id), self._p.session_reader)

    def find_missing_chunks(self, digests: Sequence[str], *, caller: Caller | None = None) -> list[str]:
        """The digests this tenant holds no chunk for (another tenant's chunks count as missing)."""
        return self._p.chunks.find_missing(self._admit(caller, READER), digests)

    def begin_chunk_upload(self, *, caller: Caller | None = None) -> ChunkStaging:
        """One UploadChunks stream: add() each chunk, then finish() (one fsync, one commit) or abort()."""
        return self._p.chunks.begin(self._admit(caller, WRITER))

    def upload_chunks(self, chunks: Iterable[tuple[str, bytes]], *, caller: Caller | None = None) -> tuple[int, int]:
        """Stores verified chunks for a later CommitArtifact; returns (chunks received, bytes stored)."""
        return self._p.chunks.upload(self._admit(caller, WRITER), chunks)

    def commit_artifact(
        self,
        header: UploadHeader,
        chunks: Sequence[tuple[str, int]],
        content_digest: str,
        *,
        caller: Caller | None = None,
    ) -> Artifact:
        """Builds an artifact from chunks the tenant holds; the whole content is re-verified."""
        return self._p.chunks.commit(self._admit(caller, WRITER), header, chunks, content_digest)

    def get_storage_stats(self, session_id: str = "", *, caller: Caller | None = None) -> StorageStats:
        """Logical and stored bytes of a session's live artifacts, or of the caller's whole tenant."""
        return self._p.queries.stats(self._admit(caller, READER), session_id)

    def snapshot_store(self, *, caller: Caller | None = None) -> tuple[Path, dict[str, int]]:
        """Operators only: a point-in-time copy of the whole store for a backup (hard links in a new
        directory inside the store's; see engine/store_snapshot.py), and {relative path: size} of
        its files. The caller removes the directory's parent when done."""
        self._admit(caller, Role.OPERATOR)
        return take_snapshot(self._storage, self._p.blobs)

    def capabilities(self) -> dict[str, Any]:
        """What clients need to chunk like the server and respect its limits."""
        return {
            "digest_function": "blake3",
            "compression": "lz4",
            "compression_threshold": self.config.artifact_compression_threshold,
            "max_artifact_size": self.config.max_artifact_size,
            "chunking": dict(hotpath.CHUNKING),
        }

    # -- history ----------------------------------------------------------------------------------

    def append_events(
        self,
        session_id: str,
        events: Sequence[EventSpec | Mapping[str, Any]],
        expected_last_seq: int | None = None,
        *,
        caller: Caller | None = None,
    ) -> list[Event]:
        """Appends client events to an ACTIVE session atomically; returns them with their seqs."""
        return self._p.log.append(self._admit(caller, WRITER), session_id, events, expected_last_seq)

    def list_events(
        self,
        session_id: str,
        after_seq: int = 0,
        types: Iterable[str] = (),
        page_size: int = 0,
        page_token: str = "",
        *,
        caller: Caller | None = None,
    ) -> Page:
        """One page of events after after_seq, oldest first; types are prefixes, any may match."""
        return self._p.log.list(self._admit(caller, READER), session_id, after_seq, types, page_size, page_token)

    def subscribe_events(
        self, session_id: str, after_seq: int = 0, types: Iterable[str] = (), *, caller: Caller | None = None
    ) -> EventSubscription:
        """A subscription to the session's events after after_seq: its history, then live events."""
        return self._p.subscriptions.subscribe(self._admit(caller, READER), session_id, after_seq, types)

    def create_checkpoint(self, session_id: str, label: str = "", *, caller: Caller | None = None) -> Checkpoint:
        """Appends checkpoint.created and stores the snapshot at it."""
        return self._p.checkpoints.create(self._admit(caller, WRITER), session_id, label)

    def list_checkpoints(
        self, session_id: str, page_size: int = 0, page_token: str = "", *, caller: Caller | None = None
    ) -> Page:
        """One page of the session's checkpoints (automatic ones included), oldest first."""
        return self._p.checkpoints.list(self._admit(caller, READER), session_id, page_size, page_token)

    def get_snapshot(
        self, session_id: str, at_seq: int | None = None, checkpoint_id: str = "", *, caller: Caller | None = None
    ) -> SessionSnapshot:
        """The session exactly as it was after event at_seq (or at a checkpoint; neither = now)."""
        return self._p.timetravel.get_snapshot(self._admit(caller, READER), session_id, at_seq, checkpoint_id)

    def compare_snapshots(
        self, session_id: str, from_point: Point | None, to_point: Point | None, *, caller: Caller | None = None
    ) -> SnapshotDiff:
        """What changed from one point (seq or checkpoint id; None = the latest event) to another."""
        return self._p.timetravel.compare(self._admit(caller, READER), session_id, from_point, to_point)

    def replay_session(
        self, start: ReplayStart, controls: AsyncIterator[ReplayControl], *, caller: Caller | None = None
    ) -> AsyncIterator[ReplayFrame]:
        """ReplaySession: the frames of a replay of start's events, under the controls that follow it."""
        return self._p.replays.run(self._admit(caller, READER), start, controls)

    def open_replay(self, start: ReplayStart, *, caller: Caller | None = None) -> Replayer:
        """A Replayer over the events start names (read a window at a time); it never writes."""
        return self._p.replays.open(self._admit(caller, READER), start)[0]

    def fork_session(
        self,
        session_id: str,
        at_seq: int | None = None,
        checkpoint_id: str = "",
        name: str = "",
        *,
        caller: Caller | None = None,
    ) -> Session:
        """A new ACTIVE child session with the state and artifacts as they were (no bytes copied)."""
        return self._p.forks.fork(self._admit(caller, WRITER), session_id, at_seq, checkpoint_id, name)

    def rewind_session(
        self,
        session_id: str,
        to_seq: int | None = None,
        checkpoint_id: str = "",
        *,
        etag: str = "",
        caller: Caller | None = None,
    ) -> Session:
        """Restores state and artifacts in place as they were after to_seq (or a checkpoint)."""
        return self._p.forks.rewind(self._admit(caller, WRITER), session_id, to_seq, checkpoint_id, etag)

    # -- archives ---------------------------------------------------------------------------------

    def export_sessions(self, session_ids: Sequence[str], out: BinaryIO, *, caller: Caller | None = None) -> None:
        """Writes the sessions (READ access to each), with their history and content, to out as one
        portable archive (docs/archive-format.md)."""
        self._p.archives.export(self._admit(caller, READER), session_ids, out)

    def import_sessions(self, src: BinaryIO, *, caller: Caller | None = None) -> ImportReport:
        """Imports an archive's sessions into the caller's tenant (WRITER role), ids kept: verified
        whole first, then written at once; sessions already there and identical are skipped."""
        return self._p.archives.import_(self._admit(caller, WRITER), src)

    # -- maintenance ------------------------------------------------------------------------------

    def maintain(self) -> int:
        """One background pass: due timeouts every time; expiry, GC and compaction every interval."""
        changed = self.sweep_timeouts()
        if time.monotonic() - self._last_collection >= self.config.maintenance_interval:
            self._last_collection = time.monotonic()
            self.expire_uploads()
            if self._p.retention.enabled:
                self.apply_retention()
            self.collect_garbage()
            self.compact_segments()
        return changed

    def apply_retention(self, *, dry_run: bool = False, everything: bool = False) -> RetentionReport:
        """One retention pass (config retention_*): a batch of sessions, or ``everything``; with
        dry_run, only what it would do. Runs in the background every maintenance interval."""
        return self._p.retention.run(dry_run=dry_run, limit=None if everything else RETENTION_BATCH)

    def retention_totals(self) -> dict[str, int]:
        """Sessions archived and deleted and artifact versions expired by retention since start."""
        return dict(self._p.retention.totals)

    def sweep_timeouts(self) -> int:
        """Applies every due timeout; returns how many sessions changed."""
        return self._p.sessions.sweep_timeouts()

    def expire_uploads(self) -> int:
        """Drops resumable uploads and staged chunks unused for 24 hours; returns how many."""
        return self._p.progress.expire() + self._p.chunks.expire_staged()

    def collect_garbage(self) -> int:
        """Deletes chunks nobody referenced for the grace period; returns how many."""
        return self._p.content.collect(to_micros(now()))

    def compact_segments(self, settle: float = SETTLE_SECONDS) -> tuple[int, int]:
        """Reclaims the disk space of collected chunks; returns (segments compacted, bytes freed)."""
        return compact_segments(self._p.content, self.config.segment_compaction_ratio, settle)

    def inline_transaction(self) -> AbstractContextManager[object] | None:
        """A transaction begun for a small write to run on the caller's thread (the server's event
        loop) when that cannot wait: the store is embedded, its lock free now, and no hooks (user
        code, maybe slow) are loaded; None otherwise (rpc/execution.py)."""
        if self._p.units.hooks.active:
            return None
        return self._storage.try_transaction()

    def ping_storage(self) -> None:
        """Raises Unavailable unless the records store answers now (the server's health probe)."""
        ping(self._storage)

    def ping_blobs(self) -> None:
        """Raises Unavailable unless the store of chunk bytes answers now (the server's health probe)."""
        ping(self._p.content.blobs)

    def close(self) -> None:
        """Stops the sweeper and closes the store (idempotent)."""
        if self._sweeper is not None:
            self._sweeper.stop()
            self._sweeper = None
        self._storage.close()  # waits for the units of work in flight (see Storage.close)
        self._p.content.blobs.close()

    def __enter__(self) -> SessionManager:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
