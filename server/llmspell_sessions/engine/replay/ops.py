"""ReplayOps: the history half of the SessionManager (being written)."""

from __future__ import annotations

from ..artifacts import ArtifactOps


class ReplayOps(ArtifactOps):
    """Event log, checkpoints, snapshots, fork and rewind."""
