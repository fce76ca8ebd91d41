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
from .checkpoints import Checkpoints
from .driver import drive_replay
from .fork import ForkAndRewind
from .log import EventLog
from .ops import Replays
from .replayer import Replayer
from .subscriptions import Delivery, EventSubscription, Subscriptions
from .timetravel import TimeTravel

__all__ = [
    "Checkpoints",
    "Delivery",
    "EventLog",
    "EventSubscription",
    "ForkAndRewind",
    "Point",
    "ReplayControl",
    "ReplayFrame",
    "ReplayMode",
    "ReplayStart",
    "ReplayStatus",
    "Replayer",
    "Replays",
    "SessionSnapshot",
    "SnapshotDiff",
    "Subscriptions",
    "TimeTravel",
    "drive_replay",
]
