"""The one error hierarchy of llmspell-sessions.

Each class carries the gRPC status code (by name, so this module imports no gRPC) and the
``ErrorInfo`` reason of API.md; the server maps them once, in an interceptor, and the clients map
statuses back to the same classes.
"""

from __future__ import annotations

from typing import Any, ClassVar

ERROR_DOMAIN = "llmspell.sessions"


class LlmspellError(Exception):
    """Base class: an error with a gRPC code name, an ErrorInfo reason and metadata naming the resource."""

    code: ClassVar[str] = "INTERNAL"
    reason: ClassVar[str] = "INTERNAL"

    def __init__(self, message: str, *, retry_delay: float | None = None, **metadata: Any) -> None:
        super().__init__(message)
        self.message = message
        self.metadata: dict[str, str] = {k: str(v) for k, v in metadata.items() if v is not None}
        self.retry_delay = retry_delay

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


class NotFoundError(LlmspellError):
    """A resource that does not exist, or belongs to another tenant."""

    code = "NOT_FOUND"


class SessionNotFound(NotFoundError):
    """No session with this id is visible to the caller."""

    reason = "SESSION_NOT_FOUND"


class ArtifactNotFound(NotFoundError):
    """No artifact with this id (or name and version) is visible to the caller."""

    reason = "ARTIFACT_NOT_FOUND"


class CheckpointNotFound(NotFoundError):
    """No checkpoint with this id in this session."""

    reason = "CHECKPOINT_NOT_FOUND"


class UploadNotFound(NotFoundError):
    """No unfinished upload with this id."""

    reason = "UPLOAD_NOT_FOUND"


class PreconditionError(LlmspellError):
    """The operation is not allowed in the current state of the resource."""

    code = "FAILED_PRECONDITION"


class InvalidStateTransition(PreconditionError):
    """The lifecycle does not allow this transition from the session's state."""

    reason = "INVALID_STATE_TRANSITION"


class SessionNotActive(PreconditionError):
    """Only ACTIVE sessions accept artifacts, state changes and client events."""

    reason = "SESSION_NOT_ACTIVE"


class MissingChunks(PreconditionError):
    """A commit referenced chunks the store does not hold."""

    reason = "MISSING_CHUNKS"


class VetoedByHook(PreconditionError):
    """A before-hook refused the operation."""

    reason = "VETOED_BY_HOOK"


class ConcurrencyError(LlmspellError):
    """Optimistic concurrency failed: re-read and retry."""

    code = "ABORTED"


class EtagMismatch(ConcurrencyError):
    """The etag sent is not the session's current etag."""

    reason = "ETAG_MISMATCH"


class SeqMismatch(ConcurrencyError):
    """expected_last_seq is not the log's last seq."""

    reason = "SEQ_MISMATCH"


class InvalidArgument(LlmspellError):
    """Bad input: the message says which field and why."""

    code = "INVALID_ARGUMENT"
    reason = "INVALID_ARGUMENT"


class IntegrityError(LlmspellError):
    """Written bytes do not match the size or digest the client announced."""

    code = "INVALID_ARGUMENT"
    reason = "INTEGRITY_ERROR"


class DataLoss(LlmspellError):
    """Stored bytes fail their digest on read."""

    code = "DATA_LOSS"
    reason = "INTEGRITY_ERROR"


class InvalidArchive(InvalidArgument):
    """An archive to import is truncated, tampered with, of an unknown format version or not an
    archive at all; nothing was written."""

    reason = "INVALID_ARCHIVE"


class ArchiveConflict(LlmspellError):
    """An archived session (or artifact id) exists in the store with a different history."""

    code = "ALREADY_EXISTS"
    reason = "ARCHIVE_CONFLICT"


class ResourceExhausted(LlmspellError):
    """A size, count or quota limit would be exceeded."""

    code = "RESOURCE_EXHAUSTED"
    reason = "RESOURCE_LIMIT_EXCEEDED"


class RateLimited(LlmspellError):
    """Too many requests; retry after ``retry_delay`` seconds."""

    code = "RESOURCE_EXHAUSTED"
    reason = "RATE_LIMITED"


class Unauthenticated(LlmspellError):
    """No token, or a token the server does not know."""

    code = "UNAUTHENTICATED"
    reason = "UNAUTHENTICATED"


class AccessDenied(LlmspellError):
    """The caller's role or grants do not allow the operation."""

    code = "PERMISSION_DENIED"
    reason = "ACCESS_DENIED"


class Unavailable(LlmspellError):
    """The store cannot serve the request now (closed, read-only, failing disk, database unreachable).

    Retryable: unless the raiser says otherwise, clients are told to retry after RETRY_DELAY seconds
    (the health probe's period, so a retry meets the backend's next known state)."""

    code = "UNAVAILABLE"
    reason = "STORAGE_UNAVAILABLE"
    RETRY_DELAY: ClassVar[float] = 1.0

    def __init__(self, message: str, *, retry_delay: float | None = RETRY_DELAY, **metadata: Any) -> None:
        super().__init__(message, retry_delay=retry_delay, **metadata)


class Unimplemented(LlmspellError):
    """The server does not implement this method (yet)."""

    code = "UNIMPLEMENTED"
    reason = "UNIMPLEMENTED"


class InternalError(LlmspellError):
    """A bug: something the server did not expect."""


def _all_subclasses(cls: type[LlmspellError]) -> list[type[LlmspellError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found


def error_class_for(code: str, reason: str) -> type[LlmspellError]:
    """The most specific class for a (code, reason) pair, used by clients to rebuild errors."""
    for cls in _all_subclasses(LlmspellError):
        if cls.code == code and cls.reason == reason and cls.__subclasses__() == []:
            return cls
    for cls in _all_subclasses(LlmspellError):
        if cls.code == code and cls.reason == reason:
            return cls
    return LlmspellError
