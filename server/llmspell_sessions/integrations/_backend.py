"""The backend protocol: the part of the session API the framework adapters build on.

``SessionManager`` (in-process) and ``SessionClient`` (gRPC) both satisfy it, because they share
method names and signatures; adapters are written once against it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from ..model import (
    Artifact,
    ArtifactType,
    ChangesApplied,
    EventSpec,
    Page,
    Session,
    SessionRead,
    SessionState,
    UploadHeader,
)


@runtime_checkable
class SessionBackend(Protocol):
    """Sessions, state, artifacts and history: what SessionManager and SessionClient have in common."""

    def create_session(
        self,
        name: str = "",
        description: str = "",
        tags: Iterable[str] = (),
        metadata: Mapping[str, Any] | None = None,
        parent_session_id: str = "",
        request_id: str = "",
    ) -> str: ...

    def get_session(self, session_id: str) -> Session: ...

    def list_sessions(
        self, page_size: int = 0, page_token: str = "", states: Iterable[SessionState] = (), tags: Iterable[str] = ()
    ) -> Page: ...

    def update_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Session: ...

    def delete_session(self, session_id: str) -> None: ...

    def resume_session(self, session_id: str) -> Session: ...

    def suspend_session(self, session_id: str) -> Session: ...

    def archive_session(self, session_id: str) -> Session: ...

    def set_session_state(
        self, session_id: str, entries: Mapping[str, Any] | None = None, delete_keys: Iterable[str] = ()
    ) -> Session: ...

    def get_session_state(self, session_id: str, keys: Iterable[str] = ()) -> dict[str, Any]: ...

    # One framework operation, one call: the adapters' writes and reads go through these two.

    def apply_changes(
        self,
        session_id: str,
        entries: Mapping[str, Any] | None = None,
        delete_keys: Iterable[str] = (),
        events: Sequence[EventSpec | Mapping[str, Any]] = (),
        *,
        create_entries: Mapping[str, Any] | None = None,
        expected_last_seq: int | None = None,
        etag: str = "",
        request_id: str = "",
    ) -> ChangesApplied: ...

    def read_session(
        self,
        session_id: str,
        *,
        state_keys: Iterable[str] = (),
        state_prefix: str = "",
        reverse: bool = False,
        start_after: str = "",
        page_size: int = 0,
        page_token: str = "",
        last_events: int = 0,
        event_types: Iterable[str] = (),
        artifact_names: Iterable[str] = (),
        related_session_ids: Iterable[str] = (),
    ) -> SessionRead: ...

    def store_artifact(
        self,
        session_id: str,
        name: str,
        content: bytes,
        artifact_type: ArtifactType = ArtifactType.AGENT_OUTPUT,
        *,
        mime_type: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> str: ...

    def put_artifact(self, header: UploadHeader, content: bytes) -> Artifact: ...

    def get_artifact(
        self, session_id: str, artifact_id: str = "", *, name: str = "", version: int = 0
    ) -> tuple[Artifact, bytes]: ...

    def get_artifact_info(
        self, artifact_id: str = "", *, session_id: str = "", name: str = "", version: int = 0
    ) -> Artifact: ...

    def list_artifacts(
        self,
        session_id: str,
        name_pattern: str = "",
        all_versions: bool = False,
        page_size: int = 0,
        page_token: str = "",
    ) -> Page: ...

    def delete_artifact(self, artifact_id: str) -> None: ...

    def append_events(self, session_id: str, events: Sequence[Mapping[str, Any]]) -> list[Any]: ...

    def list_events(
        self, session_id: str, after_seq: int = 0, types: Iterable[str] = (), page_size: int = 0, page_token: str = ""
    ) -> Page: ...

    def fork_session(
        self, session_id: str, at_seq: int | None = None, checkpoint_id: str = "", name: str = ""
    ) -> Session: ...


__all__ = ["SessionBackend"]
