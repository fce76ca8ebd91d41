"""The streaming calls the clients make with serializers of their own instead of the stubs': their
messages written or read as wire bytes (``wire.raw``, ``wire.replay``), which costs less than
building or parsing them through the protobuf runtime. Each is a multi-callable on a channel (sync
or asyncio alike)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._pb import artifact_pb2, common_pb2, replay_pb2
from ..wire import event_from_bytes
from ..wire.artifacts import download_response_from_bytes
from ..wire.raw import passing_bytes
from ..wire.replay import frame_from_bytes

_PACKAGE = "/llmspell.sessions.v1."


def _call(channel: Any, kind: str, method: str, write: Callable[[Any], bytes], read: Callable[[bytes], Any]) -> Any:
    return getattr(channel, kind)(_PACKAGE + method, request_serializer=write, response_deserializer=read)


def upload_call(channel: Any) -> Any:
    """UploadArtifact, sending data messages' wire bytes as they are (``transfer.upload_requests``)."""
    write = passing_bytes(artifact_pb2.UploadArtifactRequest.SerializeToString)
    return _call(channel, "stream_unary", "ArtifactService/UploadArtifact", write, common_pb2.Artifact.FromString)


def download_call(channel: Any) -> Any:
    """DownloadArtifact, its data messages read with one slice each (``wire.raw.data_of``)."""
    write = artifact_pb2.DownloadArtifactRequest.SerializeToString
    return _call(channel, "unary_stream", "ArtifactService/DownloadArtifact", write, download_response_from_bytes)


def subscribe_call(channel: Any) -> Any:
    """SubscribeEvents, its events read into model Events."""
    write = replay_pb2.SubscribeEventsRequest.SerializeToString
    return _call(channel, "unary_stream", "ReplayService/SubscribeEvents", write, event_from_bytes)


def replay_call(channel: Any) -> Any:
    """ReplaySession, its frames read into model ReplayFrames."""
    write = replay_pb2.ReplayControl.SerializeToString
    return _call(channel, "stream_stream", "ReplayService/ReplaySession", write, frame_from_bytes)
