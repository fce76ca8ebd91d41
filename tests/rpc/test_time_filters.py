"""Time filters of ListSessions and ListArtifacts: any Timestamp in range works, out of range is INVALID_ARGUMENT."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.message import Message
from llmspell_sessions._pb import artifact_pb2, session_pb2, session_pb2_grpc
from llmspell_sessions._pb.artifact_pb2_grpc import ArtifactServiceStub
from llmspell_sessions.client import SessionClient
from llmspell_sessions.client.errors import error_from_rpc
from llmspell_sessions.errors import InvalidArgument

from tests.helpers.server import ServerProcess

MIN_SECONDS, MAX_SECONDS = -62_135_596_800, 253_402_300_799
OUT_OF_RANGE = [
    pytest.param(MIN_SECONDS - 1, 0, id="before-year-1"),
    pytest.param(MAX_SECONDS + 1, 0, id="after-year-9999"),
    pytest.param(0, -1, id="negative-nanos"),
    pytest.param(-10, -5, id="pre-1970-negative-nanos"),
    pytest.param(0, 1_000_000_000, id="nanos-too-big"),
    pytest.param(-(2**62), 0, id="far-before"),
]
FIELDS = ["create_time_after", "create_time_before"]


def _call(address: str, method: str, request: Message) -> Message:
    with grpc.insecure_channel(address) as channel:
        stub = session_pb2_grpc.SessionServiceStub(channel) if method == "ListSessions" else None
        try:
            if stub is not None:
                return stub.ListSessions(request, timeout=10)
            return ArtifactServiceStub(channel).ListArtifacts(request, timeout=10)
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(("seconds", "nanos"), OUT_OF_RANGE)
def test_list_sessions_time_out_of_range_is_invalid_argument(
    shared_server: ServerProcess, field: str, seconds: int, nanos: int
) -> None:
    request = session_pb2.ListSessionsRequest()
    getattr(request, field).seconds, getattr(request, field).nanos = seconds, nanos
    with pytest.raises(InvalidArgument) as caught:
        _call(shared_server.address, "ListSessions", request)
    assert caught.value.reason == "INVALID_ARGUMENT"
    assert caught.value.metadata["field"] == field


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(("seconds", "nanos"), OUT_OF_RANGE)
def test_list_artifacts_time_out_of_range_is_invalid_argument(
    client: SessionClient, shared_server: ServerProcess, field: str, seconds: int, nanos: int
) -> None:
    request = artifact_pb2.ListArtifactsRequest(session_id=client.create_session())
    getattr(request, field).seconds, getattr(request, field).nanos = seconds, nanos
    with pytest.raises(InvalidArgument) as caught:
        _call(shared_server.address, "ListArtifacts", request)
    assert caught.value.metadata["field"] == field


@pytest.mark.parametrize(
    "when",
    [datetime(1960, 5, 1, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC)],
    ids=["1960", "year-1", "epoch"],
)
def test_pre_1970_and_epoch_filters_are_accepted(client: SessionClient, when: datetime) -> None:
    sid = client.create_session(name="old-times")
    client.store_artifact(sid, "a.txt", b"x")
    after = client.list_sessions(create_time_after=when, page_size=1000)
    assert after.items  # every session is younger than that
    assert client.list_sessions(create_time_before=when).items == []
    assert [a.name for a in client.list_artifacts(sid, create_time_after=when).items] == ["a.txt"]
    assert client.list_artifacts(sid, create_time_before=when).items == []


def test_range_edges_are_accepted(client: SessionClient, shared_server: ServerProcess) -> None:
    request = session_pb2.ListSessionsRequest(page_size=1)
    request.create_time_after.seconds = MIN_SECONDS
    request.create_time_before.seconds, request.create_time_before.nanos = MAX_SECONDS, 999_999_999
    client.create_session()
    assert _call(shared_server.address, "ListSessions", request).sessions  # type: ignore[attr-defined]
