"""Domain types of the history operations: plain dataclasses and enums, no protobuf, no engine.

(They belong beside model.py; the client imports them.)
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...model import Artifact, Event, Session


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
