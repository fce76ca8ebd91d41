"""Unary ArtifactService methods, written once for both clients (see _api.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .._pb import artifact_pb2
from ..model import Artifact, ArtifactType, Page, StorageStats, UploadHeader, UploadStatus
from ..rpc import convert


def header_to_pb(header: UploadHeader) -> artifact_pb2.UploadHeader:
    pb = artifact_pb2.UploadHeader(
        session_id=header.session_id,
        name=header.name,
        custom_type=header.custom_type,
        type=int(header.type),  # type: ignore[arg-type]
        description=header.description,
        tags=list(header.tags),
        mime_type=header.mime_type,
        parent_artifact_id=header.parent_artifact_id,
        expected_size=header.expected_size,
        expected_digest=header.expected_digest,
        upload_id=header.upload_id,
        write_offset=header.write_offset,
        request_id=header.request_id,
    )
    convert.py_to_struct(header.metadata, pb.metadata)
    return pb


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
        request = artifact_pb2.StoreArtifactRequest(header=header_to_pb(header), content=content)
        return self._call("artifact", "StoreArtifact", request, convert.artifact_from_pb)

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
        request = artifact_pb2.StoreArtifactRequest(header=header_to_pb(header), content=content)
        return self._call("artifact", "StoreArtifact", request, lambda pb: pb.artifact_id)

    def get_artifact_info(
        self, artifact_id: str = "", *, session_id: str = "", name: str = "", version: int = 0
    ) -> Any:
        request = artifact_pb2.GetArtifactRequest(
            artifact_id=artifact_id, session_id=session_id, name=name, version=version
        )
        return self._call("artifact", "GetArtifact", request, convert.artifact_from_pb)

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
        request = artifact_pb2.ListArtifactsRequest(
            session_id=session_id,
            tags=list(tags),
            name_pattern=name_pattern,
            types=[int(t) for t in types],  # type: ignore[misc]
            mime_type=mime_type,
            min_size=min_size,
            max_size=max_size,
            all_versions=all_versions,
            order_by=order_by,
            page_size=page_size,
            page_token=page_token,
        )
        if create_time_after is not None:
            request.create_time_after.FromDatetime(create_time_after)
        if create_time_before is not None:
            request.create_time_before.FromDatetime(create_time_before)

        def decode(pb: artifact_pb2.ListArtifactsResponse) -> Page:
            return Page([convert.artifact_from_pb(a) for a in pb.artifacts], pb.next_page_token, pb.total_size)

        return self._call("artifact", "ListArtifacts", request, decode)

    def delete_artifact(self, artifact_id: str) -> Any:
        request = artifact_pb2.DeleteArtifactRequest(artifact_id=artifact_id)
        return self._call("artifact", "DeleteArtifact", request, lambda pb: None)

    def query_upload_status(self, upload_id: str) -> Any:
        def decode(pb: artifact_pb2.QueryUploadStatusResponse) -> UploadStatus:
            return UploadStatus(upload_id, pb.committed_size, pb.complete, pb.artifact_id)

        request = artifact_pb2.QueryUploadStatusRequest(upload_id=upload_id)
        return self._call("artifact", "QueryUploadStatus", request, decode)

    def find_missing_chunks(self, digests: Sequence[str]) -> Any:
        request = artifact_pb2.FindMissingChunksRequest(digests=list(digests))
        return self._call("artifact", "FindMissingChunks", request, lambda pb: list(pb.missing_digests))

    def commit_artifact(self, header: UploadHeader, chunks: Sequence[tuple[str, int]], content_digest: str) -> Any:
        request = artifact_pb2.CommitArtifactRequest(
            header=header_to_pb(header),
            chunks=[artifact_pb2.ChunkRef(digest=d, size=n) for d, n in chunks],
            content_digest=content_digest,
        )
        return self._call("artifact", "CommitArtifact", request, convert.artifact_from_pb)

    def capabilities(self) -> Any:
        def decode(pb: artifact_pb2.GetCapabilitiesResponse) -> dict[str, Any]:
            from google.protobuf import json_format

            return json_format.MessageToDict(pb, preserving_proto_field_name=True)

        return self._call("artifact", "GetCapabilities", artifact_pb2.GetCapabilitiesRequest(), decode)

    def get_storage_stats(self, session_id: str = "") -> Any:
        def decode(pb: artifact_pb2.GetStorageStatsResponse) -> StorageStats:
            return StorageStats(
                pb.artifact_count,
                pb.logical_bytes,
                pb.stored_bytes,
                pb.unique_chunks,
                pb.dedup_ratio,
                pb.compression_ratio,
            )

        request = artifact_pb2.GetStorageStatsRequest(session_id=session_id)
        return self._call("artifact", "GetStorageStats", request, decode)


__all__ = ["Artifact", "ArtifactClientApi", "header_to_pb", "make_header"]
