"""ArtifactService messages: upload header, listing, commit, upload status and storage stats; both directions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .._pb import artifact_pb2
from ..model import ArtifactType, Page, StorageStats, UploadHeader, UploadStatus
from .raw import read_data_message
from .records import artifact_from_pb, artifact_to_pb
from .values import enum_from_pb, filter_time_from_pb, filter_time_to_pb, py_to_struct, struct_to_py

_HEADER_SCALARS = (
    "session_id",
    "name",
    "custom_type",
    "description",
    "mime_type",
    "parent_artifact_id",
    "expected_size",
    "expected_digest",
    "upload_id",
    "write_offset",
    "request_id",
)
_STATS_FIELDS = (
    "artifact_count",
    "logical_bytes",
    "stored_bytes",
    "unique_chunks",
    "dedup_ratio",
    "compression_ratio",
)


def header_to_pb(header: UploadHeader) -> artifact_pb2.UploadHeader:
    """The UploadHeader message for a header."""
    pb = artifact_pb2.UploadHeader(
        type=int(header.type),  # type: ignore[arg-type]
        tags=list(header.tags),
        **{name: getattr(header, name) for name in _HEADER_SCALARS},
    )
    py_to_struct(header.metadata, pb.metadata)
    return pb


def header_from_pb(pb: artifact_pb2.UploadHeader) -> UploadHeader:
    """The header a message carries (InvalidArgument for an unknown type)."""
    return UploadHeader(
        type=enum_from_pb(ArtifactType, pb.type, "type"),
        tags=list(pb.tags),
        metadata=struct_to_py(pb.metadata),
        **{name: getattr(pb, name) for name in _HEADER_SCALARS},
    )


def list_to_pb(
    session_id: str,
    types: Iterable[ArtifactType] = (),
    create_time_after: Any = None,
    create_time_before: Any = None,
    **fields: Any,
) -> artifact_pb2.ListArtifactsRequest:
    """A ListArtifactsRequest from list_artifacts' arguments."""
    fields["tags"] = list(fields.get("tags", ()))
    request = artifact_pb2.ListArtifactsRequest(session_id=session_id, **fields)
    request.types.extend(int(t) for t in types)  # type: ignore[misc]
    filter_time_to_pb(create_time_after, request, "create_time_after")
    filter_time_to_pb(create_time_before, request, "create_time_before")
    return request


def list_from_pb(request: artifact_pb2.ListArtifactsRequest) -> dict[str, Any]:
    """list_artifacts' arguments from a ListArtifactsRequest (InvalidArgument for bad enums or times)."""
    return {
        "session_id": request.session_id,
        "types": [enum_from_pb(ArtifactType, t, "types") for t in request.types],
        "tags": list(request.tags),
        "name_pattern": request.name_pattern,
        "mime_type": request.mime_type,
        "min_size": request.min_size,
        "max_size": request.max_size,
        "create_time_after": filter_time_from_pb(request, "create_time_after"),
        "create_time_before": filter_time_from_pb(request, "create_time_before"),
        "all_versions": request.all_versions,
        "order_by": request.order_by,
        "page_size": request.page_size,
        "page_token": request.page_token,
    }


def page_to_pb(page: Page) -> artifact_pb2.ListArtifactsResponse:
    """A ListArtifactsResponse for a page of artifacts."""
    response = artifact_pb2.ListArtifactsResponse(next_page_token=page.next_page_token, total_size=page.total_size)
    for artifact in page.items:
        artifact_to_pb(artifact, response.artifacts.add())
    return response


def page_from_pb(pb: artifact_pb2.ListArtifactsResponse) -> Page:
    """The page of artifacts a ListArtifactsResponse carries."""
    return Page([artifact_from_pb(a) for a in pb.artifacts], pb.next_page_token, pb.total_size)


def commit_to_pb(
    header: UploadHeader, chunks: Sequence[tuple[str, int]], content_digest: str
) -> artifact_pb2.CommitArtifactRequest:
    """A CommitArtifactRequest: the header and the (digest, size) of every chunk in order."""
    return artifact_pb2.CommitArtifactRequest(
        header=header_to_pb(header),
        chunks=[artifact_pb2.ChunkRef(digest=d, size=n) for d, n in chunks],
        content_digest=content_digest,
    )


def commit_from_pb(request: artifact_pb2.CommitArtifactRequest) -> dict[str, Any]:
    """commit_artifact's arguments from the request."""
    return {
        "header": header_from_pb(request.header),
        "chunks": [(c.digest, c.size) for c in request.chunks],
        "content_digest": request.content_digest,
    }


def upload_status_to_pb(status: UploadStatus) -> artifact_pb2.QueryUploadStatusResponse:
    """A QueryUploadStatusResponse (the upload id is the request's)."""
    return artifact_pb2.QueryUploadStatusResponse(
        committed_size=status.committed_size, complete=status.complete, artifact_id=status.artifact_id
    )


def upload_status_from_pb(upload_id: str, pb: artifact_pb2.QueryUploadStatusResponse) -> UploadStatus:
    """The UploadStatus of upload_id a response describes."""
    return UploadStatus(upload_id, pb.committed_size, pb.complete, pb.artifact_id)


def stats_to_pb(stats: StorageStats) -> artifact_pb2.GetStorageStatsResponse:
    """A GetStorageStatsResponse."""
    return artifact_pb2.GetStorageStatsResponse(**{name: getattr(stats, name) for name in _STATS_FIELDS})


def stats_from_pb(pb: artifact_pb2.GetStorageStatsResponse) -> StorageStats:
    """The StorageStats a response carries."""
    return StorageStats(**{name: getattr(pb, name) for name in _STATS_FIELDS})


def capabilities_to_pb(caps: dict[str, Any], max_message_size: int) -> artifact_pb2.GetCapabilitiesResponse:
    """A GetCapabilitiesResponse from the engine's capabilities and the server's message limit."""
    caps = dict(caps)
    chunking = caps.pop("chunking")
    response = artifact_pb2.GetCapabilitiesResponse(max_message_size=max_message_size, **caps)
    response.chunking.CopyFrom(artifact_pb2.ChunkingParameters(**chunking))
    return response


def capabilities_from_pb(pb: artifact_pb2.GetCapabilitiesResponse) -> dict[str, Any]:
    """The capabilities as a plain dict (field names as in the proto)."""
    from google.protobuf import json_format

    return json_format.MessageToDict(pb, preserving_proto_field_name=True)


def download_response_from_bytes(raw: bytes) -> bytes | artifact_pb2.DownloadArtifactResponse:
    """A download stream's message: its data (one slice) or, for the first, the parsed message."""
    return read_data_message(raw, artifact_pb2.DownloadArtifactResponse)


def upload_request_from_bytes(raw: bytes) -> bytes | artifact_pb2.UploadArtifactRequest:
    """An upload stream's message: its data (one slice) or, for the header, the parsed message."""
    return read_data_message(raw, artifact_pb2.UploadArtifactRequest)
