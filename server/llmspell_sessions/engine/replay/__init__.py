"""History: the event log, subscriptions, checkpoints, snapshots, replay, fork and rewind."""

from ...model import (
    Point,
    ReplayControl,
    ReplayFrame,
    ReplayMode,
    ReplayStart,
    ReplayStatus,
    SessionSnapshot,
    SnapshotDiff,
)
from .driver import drive_replay
from .ops import ReplayOps
from .replayer import Replayer
from .subscriptions import Delivery, EventSubscription

__all__ = [
    "Delivery",
    "EventSubscription",
    "Point",
    "ReplayControl",
    "ReplayFrame",
    "ReplayMode",
    "ReplayOps",
    "ReplayStart",
    "ReplayStatus",
    "Replayer",
    "SessionSnapshot",
    "SnapshotDiff",
    "drive_replay",
]
