"""LlmspellArtifactService: ADK's ``BaseArtifactService`` over llmspell artifacts.

Artifacts of an ADK session live in a session tagged ``adk-artifacts`` for (app, user, session);
``user:`` files in one for (app, user). A file is an artifact name and each save a new version:
inline bytes are stored as the artifact's content (chunked, deduplicated, compressed), the rest of
the ``Part`` as JSON in its metadata, with the ADK version number. ADK numbers versions from 0 and
restarts after a delete; llmspell versions never restart, so the ADK version of a file is its
position among the name's live versions. Files are only ever deleted whole, so the live versions of a
name are consecutive: the newest one's ``adk_version`` numbers the next save, and ADK version n is
llmspell version ``newest.version - newest.adk_version + n`` -- a save or a load is a constant number
of calls, whatever the number of versions (a listing only when that arithmetic finds a gap).
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from google.adk.artifacts import artifact_util
from google.adk.artifacts.base_artifact_service import ArtifactVersion, BaseArtifactService, ensure_part
from google.adk.errors.input_validation_error import InputValidationError
from google.genai import types

from ...errors import ArtifactNotFound
from ...model import Artifact, ArtifactType, UploadHeader
from .._backend import SessionBackend
from .._directory import SessionDirectory

FRAMEWORK = "adk-artifacts"


def _glob_literal(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


class LlmspellArtifactService(BaseArtifactService):
    """ADK artifacts with versions, in llmspell sessions (embedded or gRPC)."""

    def __init__(self, backend: SessionBackend, *, max_active_sessions: int | None = None) -> None:
        self.backend = backend
        self.directory = SessionDirectory(backend, FRAMEWORK, max_active=max_active_sessions)

    # -- scopes and versions --------------------------------------------------------------------

    def _scope(self, app_name: str, user_id: str, filename: str, session_id: str | None) -> str:
        artifact_util.validate_path_segment(app_name, "app_name")
        artifact_util.validate_path_segment(user_id, "user_id")
        if filename.startswith("user:"):
            return f"{app_name}\x00{user_id}\x01user"
        if session_id is None:
            raise InputValidationError("Session ID must be provided for session-scoped artifacts.")
        artifact_util.validate_path_segment(session_id, "session_id")
        return f"{app_name}\x00{user_id}\x00{session_id}"

    def _live(self, scope: str, filename: str) -> list[Artifact]:
        """The file's live versions, oldest first."""
        sid = self.directory.find(scope)
        if sid is None:
            return []
        found, token = [], ""
        while True:
            page = self.backend.list_artifacts(
                sid, name_pattern=_glob_literal(filename), all_versions=True, page_size=1000, page_token=token
            )
            found += [a for a in page.items if a.name == filename]
            token = page.next_page_token
            if not token:
                return sorted(found, key=lambda a: a.version)

    @staticmethod
    def _version(artifact: Artifact, number: int) -> ArtifactVersion:
        meta = artifact.metadata
        return ArtifactVersion(
            version=number,
            canonical_uri=f"llmspell://sessions/{artifact.session_id}/artifacts/{artifact.artifact_id}",
            custom_metadata=dict(meta.get("adk_custom") or {}),
            create_time=artifact.create_time.timestamp() if artifact.create_time else 0.0,
            mime_type=meta.get("adk_mime") or None,
        )

    # -- saving -----------------------------------------------------------------------------

    async def save_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        filename: str,
        artifact: types.Part | dict[str, Any],
        session_id: str | None = None,
        custom_metadata: dict[str, Any] | None = None,
    ) -> int:
        if not filename.startswith("user:"):
            if session_id is None:
                raise InputValidationError("Session ID must be provided for session-scoped artifacts.")
            artifact_util._validate_session_id_for_flat_storage(session_id)
        part = ensure_part(artifact).model_copy(deep=True)
        scope = self._scope(app_name, user_id, filename, session_id)
        mime = _mime_type(part, app_name, user_id, session_id)
        return await asyncio.to_thread(self._save, scope, filename, part, mime, custom_metadata or {})

    def _newest(self, scope: str, filename: str) -> Artifact | None:
        """The file's newest live version: one call (once the scope's session is known)."""
        sid = self.directory.find(scope)
        if sid is None:
            return None
        try:
            return self.backend.get_artifact_info(session_id=sid, name=filename)
        except ArtifactNotFound:
            return None

    def _save(self, scope: str, filename: str, part: types.Part, mime: str | None, custom: dict[str, Any]) -> int:
        newest = self._newest(scope, filename)
        version = 0 if newest is None else _adk_version(newest) + 1
        data = part.inline_data.data if part.inline_data is not None else None
        if data is not None:
            shell = part.model_copy(deep=True)
            shell.inline_data.data = None  # type: ignore[union-attr]
            kind, content, part_json = "inline", data, shell.model_dump_json(exclude_none=True)
        else:
            kind, content, part_json = "json", part.model_dump_json(exclude_none=True).encode(), ""
        metadata = {
            "adk_kind": kind,
            "adk_part": part_json,
            "adk_version": version,
            "adk_custom": custom,
            "adk_mime": mime or "",
        }

        def store(sid: str) -> Artifact:
            header = UploadHeader(
                sid,
                filename,
                ArtifactType.CUSTOM,
                custom_type="adk.part",
                mime_type=mime or "application/octet-stream",
                metadata=metadata,
            )
            return self.backend.put_artifact(header, content)

        self.directory.write(scope, store)
        return version

    # -- reading ----------------------------------------------------------------------------

    async def load_artifact(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None, version: int | None = None
    ) -> types.Part | None:
        return await asyncio.to_thread(
            self._load, app_name, user_id, filename, session_id, version, artifact_util._MAX_ARTIFACT_REFERENCE_DEPTH
        )

    def _load(
        self, app_name: str, user_id: str, filename: str, session_id: str | None, version: int | None, depth: int
    ) -> types.Part | None:
        found = self._fetch(self._scope(app_name, user_id, filename, session_id), filename, version)
        if found is None:
            return None
        chosen, content = found
        part = _decode(chosen, content)
        if artifact_util.is_artifact_ref(part):
            ref = artifact_util.resolve_artifact_reference(
                file_uri=cast(str, part.file_data.file_uri),  # type: ignore[union-attr]
                app_name=app_name,
                user_id=user_id,
                session_id=session_id,
                remaining_depth=depth,
            )
            return self._load(ref.app_name, ref.user_id, ref.filename, ref.session_id, ref.version, depth - 1)
        if part == types.Part() or artifact_util._is_rewind_tombstone(part):
            return None
        return part

    def _fetch(self, scope: str, filename: str, version: int | None) -> tuple[Artifact, bytes] | None:
        """ADK version ``version`` (None: the newest) of a file with its bytes, or None."""
        sid = self.directory.find(scope)
        if sid is None or (version is not None and version < 0):
            return None
        try:
            if version is None:  # one download by name
                return self.backend.get_artifact(sid, name=filename)
            newest = self.backend.get_artifact_info(session_id=sid, name=filename)
            if version > _adk_version(newest):
                return None
            guess = newest.version - _adk_version(newest) + version
            if guess >= 1:
                artifact, content = self.backend.get_artifact(sid, name=filename, version=guess)
                if _adk_version(artifact) == version:
                    return artifact, content
        except ArtifactNotFound:
            pass
        live = self._live(scope, filename)  # a gap in the numbering: find it by listing
        if version is None or not 0 <= version < len(live):
            return None
        return self.backend.get_artifact(sid, live[version].artifact_id)

    async def list_artifact_keys(self, *, app_name: str, user_id: str, session_id: str | None = None) -> list[str]:
        artifact_util.validate_path_segment(app_name, "app_name")
        artifact_util.validate_path_segment(user_id, "user_id")
        scopes = [f"{app_name}\x00{user_id}\x01user"]
        if session_id is not None:
            artifact_util.validate_path_segment(session_id, "session_id")
            scopes.append(f"{app_name}\x00{user_id}\x00{session_id}")
        return await asyncio.to_thread(lambda: sorted(n for s in scopes for n in self._names(s)))

    def _names(self, scope: str) -> list[str]:
        sid = self.directory.find(scope)
        if sid is None:
            return []
        names, token = [], ""
        while True:
            page = self.backend.list_artifacts(sid, page_size=1000, page_token=token)
            names += [a.name for a in page.items]
            token = page.next_page_token
            if not token:
                return names

    async def delete_artifact(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None
    ) -> None:
        scope = self._scope(app_name, user_id, filename, session_id)

        def delete() -> None:
            live = self._live(scope, filename)

            def delete_all(sid: str) -> None:
                for artifact in live:
                    self.backend.delete_artifact(artifact.artifact_id)

            if live:
                self.directory.write(scope, delete_all)

        await asyncio.to_thread(delete)

    async def list_versions(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None
    ) -> list[int]:
        scope = self._scope(app_name, user_id, filename, session_id)
        return list(range(len(await asyncio.to_thread(self._live, scope, filename))))

    async def list_artifact_versions(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None
    ) -> list[ArtifactVersion]:
        scope = self._scope(app_name, user_id, filename, session_id)
        live = await asyncio.to_thread(self._live, scope, filename)
        return [self._version(a, n) for n, a in enumerate(live)]

    async def get_artifact_version(
        self, *, app_name: str, user_id: str, filename: str, session_id: str | None = None, version: int | None = None
    ) -> ArtifactVersion | None:
        versions = await self.list_artifact_versions(
            app_name=app_name, user_id=user_id, filename=filename, session_id=session_id
        )
        if not versions:
            return None
        if version is None:
            return versions[-1]
        return versions[version] if 0 <= version < len(versions) else None


def _mime_type(part: types.Part, app_name: str, user_id: str, session_id: str | None) -> str | None:
    """The version's MIME type, with InMemoryArtifactService's checks of what may be saved."""
    if part.inline_data is not None:
        return part.inline_data.mime_type
    if part.text is not None:
        return "text/plain"
    if part.file_data is None:
        raise InputValidationError("Not supported artifact type.")
    if not artifact_util.is_artifact_ref(part):
        return part.file_data.mime_type
    parsed = artifact_util.parse_artifact_uri(cast(str, part.file_data.file_uri))
    if not parsed:
        raise InputValidationError(f"Invalid artifact reference URI: {part.file_data.file_uri}")
    artifact_util.validate_artifact_reference_scope(
        app_name=app_name, user_id=user_id, session_id=session_id, parsed_uri=parsed
    )
    return None


def _adk_version(artifact: Artifact) -> int:
    return int(artifact.metadata.get("adk_version", 0))


def _decode(artifact: Artifact, content: bytes) -> types.Part:
    meta = artifact.metadata
    if meta.get("adk_kind") == "inline":
        part = types.Part.model_validate_json(meta["adk_part"])
        part.inline_data.data = content  # type: ignore[union-attr]
        return part
    return types.Part.model_validate_json(content)
