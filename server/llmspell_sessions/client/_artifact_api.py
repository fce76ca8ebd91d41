"""Unary ArtifactService methods, written once for both clients (see _api.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .._pb import artifact_pb2
from ..model import Artifact, ArtifactType, UploadHeader
from ..wire import artifact_from_pb
from ..wire import artifacts as wire


def make_header(
    session_id: str, name: str, artifact_type: ArtifactType = ArtifactType.AGENT_OUTPUT, **fields: Any
) -> UploadHeader:
    fields["tags"] = list(fields.get("tags", ()))
    fields["metadata"] = dict(fields.get("metadata") or {})
    return UploadHeader(session_id, name, ArtifactType(artifact_type), **fields)


class ArtifactClientApi:
    """ArtifactService unary calls, named as in the embedded SessionManager."""

    def _call(self, service: str, method: str, request: Any, decode: Any) -> Any:
        raise NotImplementedError

    def put_artifact(self, header: UploadHeader, content: bytes) -> Any:
        """Stores small content in one call; returns the Artifact."""
        request = artifact_pb2.StoreArtifactRequest(header=wire.header_to_pb(header), content=content)
        return self._call("artifact", "StoreArtifact", request, artifact_from_pb)

    def store_artifact(
        self,
        session_id: str,
        name: str,
        content: bytes,
        artifact_type: ArtifactType = ArtifactType.AGENT_OUTPUT,
        *,
        description: str = "",
        tags: Iterable[str] = (),
        mime_type: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> Any:
        """Stores content as the next version of ``name``; returns the artifact id."""
        header = make_header(
            session_id, name, artifact_type, description=description, tags=tags, mime_type=mime_type, metadata=metadata
        )
        request = artifact_pb2.StoreArtifactRequest(header=wire.header_to_pb(header), content=content)
        return self._call("artifact", "StoreArtifact", request, lambda pb: pb.artifact_id)

    def get_artifact_info(
        self, artifact_id: str = "", *, session_id: str = "", name: str = "", version: int = 0
    ) -> Any:
        request = artifact_pb2.GetArtifactRequest(
            artifact_id=artifact_id, session_id=session_id, name=name, version=version
        )
        return self._call("artifact", "GetArtifact", request, artifact_from_pb)

    def list_artifacts(
        self,
        session_id: str,
        types: Iterable[ArtifactType] = (),
        tags: Iterable[str] = (),
        name_pattern: str = "",
        mime_type: str = "",
        min_size: int = 0,
        max_size: int = 0,
        create_time_after: datetime | None = None,
        create_time_before: datetime | None = None,
        all_versions: bool = False,
        order_by: str = "",
        page_size: int = 0,
        page_token: str = "",
    ) -> Any:
        request = wire.list_to_pb(
            session_id,
            types,
            create_time_after,
            create_time_before,
            tags=list(tags),
            name_pattern=name_pattern,
            mime_type=mime_type,
            min_size=min_size,
            max_size=max_size,
            all_versions=all_versions,
            order_by=order_by,
            page_size=page_size,
            page_token=page_token,
        )
        return self._call("artifact", "ListArtifacts", request, wire.page_from_pb)

    def delete_artifact(self, artifact_id: str) -> Any:
        request = artifact_pb2.DeleteArtifactRequest(artifact_id=artifact_id)
        return self._call("artifact", "DeleteArtifact", request, lambda pb: None)

    def query_upload_status(self, upload_id: str) -> Any:
        request = artifact_pb2.QueryUploadStatusRequest(upload_id=upload_id)
        return self._call(
            "artifact", "QueryUploadStatus", request, lambda pb: wire.upload_status_from_pb(upload_id, pb)
        )

    def find_missing_chunks(self, digests: Sequence[str]) -> Any:
        request = artifact_pb2.FindMissingChunksRequest(digests=list(digests))
        return self._call("artifact", "FindMissingChunks", request, lambda pb: list(pb.missing_digests))

    def commit_artifact(self, header: UploadHeader, chunks: Sequence[tuple[str, int]], content_digest: str) -> Any:
        request = wire.commit_to_pb(header, chunks, content_digest)
        return self._call("artifact", "CommitArtifact", request, artifact_from_pb)

    def capabilities(self) -> Any:
        request = artifact_pb2.GetCapabilitiesRequest()
        return self._call("artifact", "GetCapabilities", request, wire.capabilities_from_pb)

    def get_storage_stats(self, session_id: str = "") -> Any:
        request = artifact_pb2.GetStorageStatsRequest(session_id=session_id)
        return self._call("artifact", "GetStorageStats", request, wire.stats_from_pb)


__all__ = ["Artifact", "ArtifactClientApi", "make_header"]
