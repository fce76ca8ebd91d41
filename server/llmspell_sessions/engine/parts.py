"""The engine's parts, built once, each with its dependencies passed in explicitly (see manager.py)."""

from __future__ import annotations

from ..cas import ContentStore
from ..config import SessionManagerConfig
from ..storage import BlobStore, Storage
from .admission import Admission
from .archive import Archives
from .artifacts import ArtifactQueries, ArtifactStore, ChunkUploads, SessionReader, UploadProgress
from .bulk import BulkActions
from .changes import Changes
from .hooks import HookRunner
from .limits import Limits
from .listing import SessionListing
from .records import SessionRecords
from .replay import Checkpoints, EventLog, ForkAndRewind, Replays, Subscriptions, TimeTravel
from .retention import Retention
from .sessions import Sessions
from .state import StateStore
from .unit_of_work import Units


class _Contents:
    """What a session holds besides its record (SessionContents), from the parts that own it."""

    def __init__(self, state: StateStore, artifacts: ArtifactStore) -> None:
        self.read_state = state.read_state
        self.latest_artifacts = artifacts.latest_artifacts
        self.release_session = artifacts.release_session


class Parts:
    """Every part of the engine, built once with explicit dependencies."""

    def __init__(self, config: SessionManagerConfig, storage: Storage, blobs: BlobStore, hooks: HookRunner) -> None:
        self.blobs = blobs
        self.limits = Limits.from_config(config)
        self.admission = Admission(config, self.limits)
        self.records = SessionRecords(config, storage)
        self.content = ContentStore(storage, blobs, config.chunk_gc_grace)
        self.units = Units(config, storage, self.records, self.content, self.admission, hooks)
        threshold = config.artifact_compression_threshold
        self.state = StateStore(self.units, storage)
        self.listing = SessionListing(self.records, storage)
        self.progress = UploadProgress(self.units, storage, self.content, self.admission)
        self.artifacts = ArtifactStore(
            self.units, self.records, storage, self.content, self.limits, self.progress, threshold
        )
        self.chunks = ChunkUploads(
            self.units, self.records, self.content, self.artifacts, self.admission, self.limits, threshold
        )
        self.queries = ArtifactQueries(self.units, storage, self.content, self.artifacts)
        self.sessions = Sessions(self.units, storage, _Contents(self.state, self.artifacts))
        self.bulk = BulkActions(self.listing, self.sessions, self.admission.enter)
        self.log = EventLog(self.units, storage)
        self.subscriptions = Subscriptions(self.units, self.log)
        self.timetravel = TimeTravel(self.units, storage, self.records, self.log, self.artifacts)
        self.checkpoints = Checkpoints(self.units, storage, self.timetravel, config.auto_checkpoint_every)
        self.forks = ForkAndRewind(self.units, self.timetravel, self.state, self.artifacts)
        self.replays = Replays(self.units, self.log, self.timetravel, config.replay_idle_timeout)
        self.session_reader = SessionReader(self.units)
        self.changes = Changes(self.units, storage, self.state, self.log, self.artifacts)
        self.retention = Retention(config, storage, self.sessions, self.artifacts)
        self.archives = Archives(
            self.units, storage, self.records, self.content, self.artifacts, threshold, self.limits
        )
        self.units.listeners.extend([self.subscriptions, self.checkpoints])
