"""Transport limits: an oversized message and an expired deadline fail cleanly, and the server serves on."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from llmspell_sessions._pb import artifact_pb2, artifact_pb2_grpc
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import ArtifactNotFound
from llmspell_sessions.model import UploadHeader

from tests.helpers.consistency import check_store
from tests.helpers.server import ServerProcess

MiB = 1024 * 1024
OPTIONS = [("grpc.max_send_message_length", 64 * MiB), ("grpc.max_receive_message_length", 64 * MiB)]


@pytest.fixture
def small_messages(server_factory: Callable[..., ServerProcess], tmp_path: Path) -> ServerProcess:
    config = tmp_path / "server.toml"
    config.write_text(f"[server]\nmax_message_size = {MiB}\n")
    return server_factory(args=["--config", str(config)])


def test_message_over_the_limit_is_resource_exhausted(small_messages: ServerProcess) -> None:
    with SessionClient(small_messages.address) as c:
        sid = c.create_session(name="limits")
    with grpc.insecure_channel(small_messages.address, options=OPTIONS) as channel:
        artifacts = artifact_pb2_grpc.ArtifactServiceStub(channel)
        header = artifact_pb2.UploadHeader(session_id=sid, name="big")
        for attempt in range(3):  # the rejection must not wedge or kill anything
            with pytest.raises(grpc.RpcError) as caught:
                artifacts.StoreArtifact(
                    artifact_pb2.StoreArtifactRequest(header=header, content=b"x" * (2 * MiB)), timeout=10
                )
            assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, attempt
            with pytest.raises(grpc.RpcError) as streamed:
                artifacts.UploadArtifact(
                    iter(
                        [
                            artifact_pb2.UploadArtifactRequest(header=header),
                            artifact_pb2.UploadArtifactRequest(data=b"y" * (MiB + 1)),
                        ]
                    ),
                    timeout=10,
                )
            assert streamed.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        fits = artifacts.StoreArtifact(
            artifact_pb2.StoreArtifactRequest(header=header, content=b"z" * 1000), timeout=10
        )
        assert fits.size == 1000
    with SessionClient(small_messages.address) as c:
        assert c.get_session(sid).session_id == sid


def test_rejected_upload_leaves_no_artifact(small_messages: ServerProcess) -> None:
    with SessionClient(small_messages.address) as c:
        sid = c.create_session(name="limits")
    with grpc.insecure_channel(small_messages.address, options=OPTIONS) as channel:
        artifacts = artifact_pb2_grpc.ArtifactServiceStub(channel)
        for attempt in range(30):
            header = artifact_pb2.UploadHeader(session_id=sid, name=f"big-{attempt}")
            with pytest.raises(grpc.RpcError) as streamed:
                artifacts.UploadArtifact(
                    iter(
                        [
                            artifact_pb2.UploadArtifactRequest(header=header),
                            artifact_pb2.UploadArtifactRequest(data=b"y" * (MiB + 1)),
                        ]
                    ),
                    timeout=10,
                )
            assert streamed.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    with SessionClient(small_messages.address) as c:
        assert [(a.name, a.size) for a in c.list_artifacts(sid, page_size=100).items] == []


def _slow_upload(sid: str, pieces: int, pause: float) -> Iterator[artifact_pb2.UploadArtifactRequest]:
    yield artifact_pb2.UploadArtifactRequest(header=artifact_pb2.UploadHeader(session_id=sid, name="slow"))
    for _ in range(pieces):
        time.sleep(pause)
        yield artifact_pb2.UploadArtifactRequest(data=b"d" * MiB)


def test_deadline_shorter_than_an_upload_leaves_nothing(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory()
    with SessionClient(server.address) as c:
        sid = c.create_session(name="deadline")
    with grpc.insecure_channel(server.address, options=OPTIONS) as channel:
        artifacts = artifact_pb2_grpc.ArtifactServiceStub(channel)
        with pytest.raises(grpc.RpcError) as caught:
            artifacts.UploadArtifact(_slow_upload(sid, pieces=20, pause=0.1), timeout=0.8)
        assert caught.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    time.sleep(0.5)  # let the server finish aborting the cancelled stream
    with SessionClient(server.address) as c:
        assert c.list_artifacts(sid).items == []
        with pytest.raises(ArtifactNotFound):
            c.get_artifact_info(session_id=sid, name="slow")
        session = c.get_session(sid)
        assert session.artifact_count == 0 and session.artifact_bytes == 0
        done = c.upload_artifact(UploadHeader(sid, "slow"), [b"a" * MiB, b"b" * MiB])
        assert done.size == 2 * MiB and done.version == 1
    server.terminate()
    check_store(server.path)
