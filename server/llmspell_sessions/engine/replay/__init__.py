"""History: the event log, subscriptions, checkpoints, snapshots, replay, fork and rewind."""

from .ops import ReplayOps

__all__ = ["ReplayOps"]
