"""Artifact operations (content-addressed, chunked, deduplicated, versioned per session and name).

Work in progress: the interface below is what the replay module relies on.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..model import Artifact, Caller
from ..storage import WriteBatch
from .listing import ListingOps


class ArtifactOps(ListingOps):
    """The artifact half of the SessionManager."""

    def artifact_records(self, caller: Caller, skey: bytes, artifact_ids: Iterable[str]) -> list[Artifact]:
        """Records of these artifacts of one session, deleted ones included (history needs them)."""
        raise NotImplementedError

    def live_artifact_ids(self, skey: bytes) -> list[str]:
        """Ids of the session's artifacts that are not deleted, oldest first."""
        raise NotImplementedError

    def copy_artifacts(
        self, batch: WriteBatch, caller: Caller, source_skey: bytes, target_skey: bytes, artifact_ids: Iterable[str]
    ) -> list[Artifact]:
        """Adds to batch new records in the target session for these artifacts of the source, sharing
        their chunks by reference (refcounts, no bytes copied); returns the new records."""
        raise NotImplementedError

    def restore_artifacts(self, batch: WriteBatch, caller: Caller, skey: bytes, artifact_ids: Iterable[str]) -> None:
        """Adds to batch the undeletion of these deleted artifacts (DataLoss if their bytes are gone)."""
        raise NotImplementedError

    def remove_artifacts(self, batch: WriteBatch, caller: Caller, skey: bytes, artifact_ids: Iterable[str]) -> None:
        """Adds to batch the deletion of these live artifacts, as DeleteArtifact does."""
        raise NotImplementedError
