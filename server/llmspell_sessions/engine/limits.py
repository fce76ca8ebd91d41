"""Every limit of the service, fixed and configured, and the one check for each.

Fixed limits are constants here; configured ones come from SessionManagerConfig through Limits.
The checks raise ResourceExhausted (RESOURCE_LIMIT_EXCEEDED) naming the limit. Paths may check
early (an upload as bytes arrive), but the unit of work checks the quotas again from its counter
deltas before it writes, so no path into the engine can pass one by forgetting to ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import SessionManagerConfig
from ..errors import ResourceExhausted

MiB = 1024 * 1024

# Input sizes (validation.py enforces them field by field).
MAX_NAME_BYTES = 255
MAX_DESCRIPTION_BYTES = 16 * 1024
MAX_TAGS = 64
MAX_TAG_CHARS = 64
MAX_METADATA_BYTES = 64 * 1024
MAX_STATE_KEY_BYTES = 256
MAX_STATE_VALUE_BYTES = 4 * MiB
MAX_REQUEST_ID_CHARS = 128
MAX_UPLOAD_ID_CHARS = 128
MAX_PAGE_SIZE = 1000

# Events.
MAX_EVENT_TYPE_CHARS = 128
MAX_EVENT_LINK_CHARS = 128
MAX_EVENT_PAYLOAD_BYTES = 1 * MiB
MAX_EVENTS_PER_APPEND = 1000
EVENT_PAGE_BYTES = 3 * MiB
"""A page of events (ListEvents, replay windows, subscription reads) stops growing past this, so it
fits the 4 MiB every gRPC client accepts by default; a single event always fits."""

# Chunks and uploads.
MAX_CHUNK_BYTES = 4 * MiB
MAX_COMMIT_CHUNKS = 16384
"""Chunk entries one CommitArtifact may list (100 MiB of 16 KiB minimum-size chunks is 6,400)."""
VERIFICATIONS_PER_TENANT = 2
"""Content verifications (CommitArtifact hashing) one tenant may run at once: one tenant cannot
take every worker thread from the others."""
UPLOAD_TTL_SECONDS = 24 * 3600
STAGED_TTL_SECONDS = 24 * 3600
REQUEST_ID_TTL_SECONDS = 600


def _exhausted(message: str, limit: str, **context: Any) -> ResourceExhausted:
    return ResourceExhausted(message, limit=limit, **context)


@dataclass(frozen=True, slots=True)
class Limits:
    """The configured limits, with one check per limit."""

    max_sessions: int
    max_artifacts_per_session: int
    max_session_bytes: int
    max_artifact_size: int
    max_tenant_bytes: int
    max_state_bytes: int
    max_archive_bytes: int = 4 * 1024 * MiB

    @classmethod
    def from_config(cls, config: SessionManagerConfig) -> Limits:
        return cls(
            config.max_sessions,
            config.max_artifacts_per_session,
            config.max_session_bytes,
            config.max_artifact_size,
            config.max_tenant_bytes,
            config.max_state_bytes,
            config.max_archive_bytes,
        )

    def artifact_size(self, size: int) -> None:
        if size > self.max_artifact_size:
            raise _exhausted(
                f"artifact exceeds max_artifact_size ({self.max_artifact_size} bytes)", "max_artifact_size", size=size
            )

    def archive_size(self, size: int) -> None:
        if size > self.max_archive_bytes:
            raise _exhausted(
                f"archive exceeds max_archive_bytes ({self.max_archive_bytes} bytes)", "max_archive_bytes", size=size
            )

    def artifact_count(self, session_id: str, count: int) -> None:
        if count > self.max_artifacts_per_session:
            raise _exhausted(
                f"session would hold more than {self.max_artifacts_per_session} artifacts",
                "max_artifacts_per_session",
                session_id=session_id,
            )

    def session_bytes(self, session_id: str, total: int) -> None:
        if total > self.max_session_bytes:
            raise _exhausted(
                f"session would exceed max_session_bytes ({self.max_session_bytes} bytes)",
                "max_session_bytes",
                session_id=session_id,
            )

    def state_bytes(self, session_id: str, total: int) -> None:
        if total > self.max_state_bytes:
            raise _exhausted(
                f"session state would exceed max_state_bytes ({self.max_state_bytes} bytes)",
                "max_state_bytes",
                session_id=session_id,
            )

    def tenant_bytes(self, tenant: str, total: int) -> None:
        """The tenant's live artifact bytes plus staged chunk bytes against max_tenant_bytes (0 = off)."""
        if self.max_tenant_bytes and total > self.max_tenant_bytes:
            raise _exhausted(
                f"tenant would exceed max_tenant_bytes ({self.max_tenant_bytes} bytes)",
                "max_tenant_bytes",
                tenant=tenant,
            )

    def active_sessions(self, tenant: str, count: int) -> None:
        if count > self.max_sessions:
            raise _exhausted(
                f"tenant would have {count} active sessions; the limit is {self.max_sessions} (max_sessions): "
                "end finished ones, e.g. `llmspell-sessions session bulk complete --state active --dry-run`",
                "max_sessions",
                tenant=tenant,
            )
