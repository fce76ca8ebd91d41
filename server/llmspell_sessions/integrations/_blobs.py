"""Blobs in state values: small ones inline as base64, large ones as artifacts referenced by name.

Inline values are read together with the rest of a record in one GetSessionState; artifacts cost a
round trip each but are chunked, deduplicated, LZ4-compressed, and -- unlike state values -- are not
repeated in the payload of the ``state.changed`` event that records the write. A reference names
the artifact and version, not its id, so it stays valid in a fork (forks copy artifacts under the
same names and versions with new ids).
"""

from __future__ import annotations

import base64
from typing import Any

from ..errors import ArtifactNotFound
from ..model import ArtifactType, UploadHeader
from ._backend import SessionBackend

INLINE_LIMIT = 16 * 1024


class BlobCodec:
    """Encodes (type, bytes) pairs as JSON state values, moving large ones into artifacts."""

    def __init__(self, backend: SessionBackend, inline_limit: int = INLINE_LIMIT) -> None:
        self.backend = backend
        self.inline_limit = inline_limit

    def encode(self, session_id: str, name: str, kind: str, data: bytes, *, inline: bool = True) -> dict[str, Any]:
        """A JSON value holding the blob, or a reference to the artifact ``name`` that now does
        (always, when not ``inline``)."""
        if inline and len(data) <= self.inline_limit:
            return {"t": kind, "b": base64.b64encode(data).decode()}
        header = UploadHeader(
            session_id,
            name,
            ArtifactType.SYSTEM_GENERATED,
            mime_type="application/octet-stream",
            metadata={"serde": kind},
        )
        artifact = self.backend.put_artifact(header, data)
        return {"t": kind, "a": name, "v": artifact.version}

    def decode(self, session_id: str, value: dict[str, Any]) -> tuple[str, bytes]:
        """The (type, bytes) a value from encode holds."""
        if "b" in value:
            return value["t"], base64.b64decode(value["b"])
        return value["t"], self.backend.get_artifact(session_id, name=value["a"], version=int(value["v"]))[1]

    def release(self, session_id: str, value: Any) -> None:
        """Deletes the artifact behind a value, if it has one (its state key is being deleted)."""
        if not isinstance(value, dict) or "a" not in value:
            return
        try:
            info = self.backend.get_artifact_info(session_id=session_id, name=value["a"], version=int(value["v"]))
            self.backend.delete_artifact(info.artifact_id)
        except ArtifactNotFound:
            pass


__all__ = ["INLINE_LIMIT", "BlobCodec"]
