"""Domain types: plain dataclasses and enums, no protobuf and no gRPC."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JsonValue = Any  # None | bool | int | float | str | list[JsonValue] | dict[str, JsonValue]


class SessionState(enum.IntEnum):
    """The lifecycle state of a session (numbers match the protobuf enum)."""

    UNSPECIFIED = 0
    ACTIVE = 1
    SUSPENDED = 2
    COMPLETED = 3
    FAILED = 4
    ARCHIVED = 5


class ArtifactType(enum.IntEnum):
    """What produced an artifact (numbers match the protobuf enum)."""

    UNSPECIFIED = 0
    AGENT_OUTPUT = 1
    TOOL_RESULT = 2
    USER_INPUT = 3
    SYSTEM_GENERATED = 4
    CUSTOM = 5


class Role(enum.IntEnum):
    """What a caller may do; each role includes the ones below it."""

    READER = 1
    WRITER = 2
    ADMIN = 3
    OPERATOR = 4
    """An admin of its tenant who may also run store-wide operations (backups), which read every tenant."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling: resolved from the token by the server, or the local user in-process."""

    tenant: str = "default"
    subject: str = "local"
    role: Role = Role.OPERATOR  # in-process, the caller owns the whole store
    correlation_id: str = ""


UPDATABLE_SESSION_FIELDS = ("name", "description", "tags", "metadata")
"""The session fields UpdateSession may change (its update_mask paths)."""


@dataclass(slots=True)
class Session:
    """A session record: what GetSession returns."""

    session_id: str
    name: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, JsonValue] = field(default_factory=dict)
    state: SessionState = SessionState.ACTIVE
    parent_session_id: str = ""
    created_by: str = ""
    create_time: datetime | None = None
    update_time: datetime | None = None
    end_time: datetime | None = None
    expire_time: datetime | None = None
    artifact_count: int = 0
    artifact_bytes: int = 0
    last_event_seq: int = 0
    failure_reason: str = ""
    # When the session last became ACTIVE (create or resume): the lifetime timeout counts from here.
    active_since: datetime | None = None
    grants: dict[str, str] = field(default_factory=dict)
    """Other subjects of the tenant that may use the session: subject -> "read" or "write"."""
    state_bytes: int = 0
    """Bytes of the session's key-value state (keys and encoded values): max_state_bytes counts these."""

    @property
    def etag(self) -> str:
        """Changes on every mutation: every mutation appends exactly one event."""
        return f"s{self.last_event_seq}"


@dataclass(slots=True)
class ImportReport:
    """What an import did: sessions created, sessions skipped (already there, identical), and the
    chunks it had to store (the others were already held)."""

    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    chunks_stored: int = 0
    bytes_stored: int = 0


@dataclass(slots=True)
class Event:
    """One entry of a session's event log."""

    session_id: str
    seq: int
    type: str
    time: datetime
    actor: str = ""
    correlation_id: str = ""
    causation_id: str = ""
    payload: dict[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EventSpec:
    """An event to append: its type and payload, and optional ids linking it to others."""

    type: str
    payload: dict
    causation_id: str = ""
    correlation_id: str = ""


@dataclass(slots=True)
class Artifact:
    """An artifact's metadata (its bytes live in the content store)."""

    artifact_id: str
    session_id: str
    name: str
    version: int = 1
    type: ArtifactType = ArtifactType.UNSPECIFIED
    custom_type: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    mime_type: str = ""
    metadata: dict[str, JsonValue] = field(default_factory=dict)
    size: int = 0
    content_digest: str = ""
    stored_size: int = 0
    compressed: bool = False
    chunk_count: int = 0
    new_bytes: int = 0
    parent_artifact_id: str = ""
    previous_digest: str = ""
    create_time: datetime | None = None
    created_by: str = ""


@dataclass(slots=True)
class Checkpoint:
    """A named point in a session's history."""

    checkpoint_id: str
    session_id: str
    seq: int
    label: str = ""
    create_time: datetime | None = None


@dataclass(slots=True)
class LoadedSession:
    """Everything needed to restore a session: record, state and latest artifact versions."""

    session: Session
    state: dict[str, JsonValue]
    artifacts: list[Artifact]


@dataclass(slots=True)
class ChangesApplied:
    """What one ApplyChanges wrote: the session after it and the events it appended, in seq order."""

    session: Session
    events: list[Event]


@dataclass(slots=True)
class SessionRead:
    """One ReadSession: the record and what was asked of its state, log and artifacts.

    ``state`` holds the exact keys asked for that exist; ``entries`` the keys under the prefix, in
    key order (reverse when asked), up to the page; ``events`` the last events, oldest first
    (``events_truncated`` when more matched than fit); ``related`` the whole state of each related
    session asked for, in the order asked.
    """

    session: Session
    state: dict[str, JsonValue] = field(default_factory=dict)
    entries: list[tuple[str, JsonValue]] = field(default_factory=list)
    next_state_page_token: str = ""
    events: list[Event] = field(default_factory=list)
    artifacts: list[Artifact] = field(default_factory=list)
    events_truncated: bool = False
    related: list[RelatedState] = field(default_factory=list)


@dataclass(slots=True)
class RelatedState:
    """The state of a session read beside another one; ``truncated`` when it did not fit."""

    session_id: str
    state: dict[str, JsonValue] = field(default_factory=dict)
    truncated: bool = False


@dataclass(slots=True)
class Page:
    """One page of a listing."""

    items: list[Any]
    next_page_token: str = ""
    total_size: int = 0


BULK_ACTIONS = ("complete", "fail", "archive", "delete")
"""What a bulk session action may do to each session it selects."""


@dataclass(frozen=True, slots=True)
class BulkSkip:
    """A session a bulk action left as it was: the error reason and message its single call gave."""

    session_id: str
    reason: str
    message: str = ""


@dataclass(slots=True)
class BulkResult:
    """What one bulk session action call did (or, on a dry run, would do), oldest session first."""

    changed: list[str] = field(default_factory=list)
    skipped: list[BulkSkip] = field(default_factory=list)
    next_page_token: str = ""
    total_size: int = 0

    @property
    def matched(self) -> int:
        """Sessions this call selected: changed plus skipped."""
        return len(self.changed) + len(self.skipped)


@dataclass(slots=True)
class UploadHeader:
    """Everything about an artifact to write except its bytes."""

    session_id: str
    name: str
    type: ArtifactType = ArtifactType.UNSPECIFIED
    custom_type: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    mime_type: str = ""
    metadata: dict[str, JsonValue] = field(default_factory=dict)
    parent_artifact_id: str = ""
    expected_size: int = 0
    expected_digest: str = ""
    upload_id: str = ""
    write_offset: int = 0
    request_id: str = ""


@dataclass(slots=True)
class UploadStatus:
    """How far a resumable upload got."""

    upload_id: str
    committed_size: int
    complete: bool
    artifact_id: str = ""


@dataclass(slots=True)
class StorageStats:
    """Space used by a tenant's or a session's artifacts."""

    artifact_count: int
    logical_bytes: int
    stored_bytes: int
    unique_chunks: int
    dedup_ratio: float
    compression_ratio: float


# -- history (replay service) -----------------------------------------------------------------


@dataclass(slots=True)
class SessionSnapshot:
    """GetSnapshot: the session as it was after event ``seq``, with its state and live artifacts."""

    session: Session
    state: dict[str, Any]
    artifacts: list[Artifact]
    seq: int


@dataclass(slots=True)
class SnapshotDiff:
    """CompareSnapshots: what changed from one point in a session's history to another."""

    state_added: dict[str, Any] = field(default_factory=dict)
    state_removed: dict[str, Any] = field(default_factory=dict)
    state_changed: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # key -> (old, new)
    artifacts_added: list[Artifact] = field(default_factory=list)
    artifacts_removed: list[Artifact] = field(default_factory=list)
    events_between: int = 0


Point = int | str
"""A point in a session's history: an event seq (int) or a checkpoint id (str)."""


MIN_SPEED, MAX_SPEED = 0.1, 10.0


class ReplayMode(enum.IntEnum):
    """How events are paced (numbers match the protobuf enum)."""

    UNSPECIFIED = 0
    TIMED = 1
    FAST = 2
    STEP = 3


class ReplayStatus(enum.IntEnum):
    """Where a replay is (numbers match the protobuf enum)."""

    UNSPECIFIED = 0
    RUNNING = 1
    PAUSED = 2
    AT_BREAKPOINT = 3
    COMPLETED = 4
    STOPPED = 5


@dataclass(slots=True)
class ReplayStart:
    """The first control: which events to replay and how. from_seq is inclusive; after a
    checkpoint, replay starts with the event after it. to_seq 0 = to the end; speed 0 = 1.0."""

    session_id: str
    from_seq: int | None = None
    checkpoint_id: str = ""
    to_seq: int = 0
    mode: ReplayMode = ReplayMode.FAST
    speed: float = 0.0
    breakpoint_seqs: Sequence[int] = ()
    breakpoint_types: Sequence[str] = ()
    types: Sequence[str] = ()


@dataclass(slots=True)
class ReplayControl:
    """A control after start: pause, resume, step, set_speed, add_breakpoint or stop."""

    kind: str
    speed: float = 0.0
    seq: int = 0
    event_type: str = ""


@dataclass(slots=True)
class ReplayFrame:
    """One message of the replay stream; event is None on the final frame."""

    event: Event | None
    index: int
    total: int
    status: ReplayStatus
    changed_keys: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RemoteFile:
    """A file of a backup streamed by BackupStore: its bytes follow, unless it is ``reused`` from the
    client's earlier backup."""

    path: str
    size: int
    reused: bool = False
