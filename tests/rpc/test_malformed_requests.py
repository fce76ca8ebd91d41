"""Request bytes that do not parse: INVALID_ARGUMENT on every kind of RPC, and no log flood."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2
from llmspell_sessions._pb import artifact_pb2, common_pb2, replay_pb2, session_pb2

from tests.helpers.server import ServerProcess

SESSION = "/llmspell.sessions.v1.SessionService/"
ARTIFACT = "/llmspell.sessions.v1.ArtifactService/"
REPLAY = "/llmspell.sessions.v1.ReplayService/"


def _nested_struct(depth: int) -> bytes:
    """CreateSessionRequest.metadata (field 4) holding a Struct nested ``depth`` levels, built by hand
    because the Python protobuf refuses to build what it refuses to parse."""
    value = b""
    for _ in range(depth):
        struct = b"\x0a" + _len(b"\x0a\x01k" + b"\x12" + _len(b"\x2a" + _len(value)))  # fields{k: {struct_value}}
        value = struct
    return b"\x22" + _len(value)


def _len(data: bytes) -> bytes:
    size, out = len(data), b""
    while True:
        byte, size = size & 0x7F, size >> 7
        out += bytes([byte | (0x80 if size else 0)])
        if not size:
            return out + data


CORRUPT = {
    "truncated": b"\x0a\x10abc",  # field 1 says 16 bytes, 3 follow
    "bad-wire-type": b"\x0f\x01",
    "invalid-utf8": session_pb2.GetSessionRequest(session_id="x").SerializeToString().replace(b"x", b"\xff"),  # field 1
    "struct-40-deep": _nested_struct(40),
    "varint-overflow": b"\x08" + b"\xff" * 11,
}


def _identity(data: bytes) -> bytes:
    return data


def _assert_invalid(error: grpc.RpcError) -> None:
    call: grpc.Call = error  # type: ignore[assignment]
    assert call.code() == grpc.StatusCode.INVALID_ARGUMENT, (call.code(), call.details())
    details = dict(call.trailing_metadata() or ()).get("grpc-status-details-bin")
    assert isinstance(details, bytes)
    info = error_details_pb2.ErrorInfo()
    status_pb2.Status.FromString(details).details[0].Unpack(info)
    assert info.reason == "INVALID_ARGUMENT"
    assert "does not parse" in (call.details() or "")


@pytest.fixture(scope="module")
def channel(shared_server: ServerProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(shared_server.address) as ch:
        yield ch


UNARY_CASES = [
    *[
        pytest.param(m, CORRUPT[k], id=f"{m.rsplit('/', 1)[1]}-{k}")
        for m in (SESSION + "GetSession", REPLAY + "AppendEvents")
        for k in ("truncated", "bad-wire-type", "varint-overflow")
    ],
    pytest.param(SESSION + "GetSession", CORRUPT["invalid-utf8"], id="GetSession-invalid-utf8"),
    pytest.param(SESSION + "CreateSession", CORRUPT["struct-40-deep"], id="CreateSession-struct-40-deep"),
]


@pytest.mark.parametrize(("method", "payload"), UNARY_CASES)
def test_unary_malformed_request_is_invalid_argument(channel: grpc.Channel, method: str, payload: bytes) -> None:
    call = channel.unary_unary(method, request_serializer=_identity, response_deserializer=_identity)
    with pytest.raises(grpc.RpcError) as caught:
        call(payload, timeout=10)
    _assert_invalid(caught.value)


STREAM_CASES = {k: CORRUPT[k] for k in ("truncated", "bad-wire-type", "varint-overflow", "invalid-utf8")}


@pytest.mark.parametrize("payload", STREAM_CASES.values(), ids=STREAM_CASES.keys())
def test_server_stream_malformed_request_is_invalid_argument(channel: grpc.Channel, payload: bytes) -> None:
    call = channel.unary_stream(
        REPLAY + "SubscribeEvents", request_serializer=_identity, response_deserializer=_identity
    )
    with pytest.raises(grpc.RpcError) as caught:
        list(call(payload, timeout=10))
    _assert_invalid(caught.value)


@pytest.mark.parametrize("payload", STREAM_CASES.values(), ids=STREAM_CASES.keys())
def test_client_stream_malformed_message_is_invalid_argument(channel: grpc.Channel, payload: bytes) -> None:
    call = channel.stream_unary(
        ARTIFACT + "UploadChunks", request_serializer=_identity, response_deserializer=_identity
    )
    with pytest.raises(grpc.RpcError) as caught:
        call(iter([payload]), timeout=10)
    _assert_invalid(caught.value)


def test_bidi_stream_malformed_control_is_invalid_argument(channel: grpc.Channel) -> None:
    call = channel.stream_stream(
        REPLAY + "ReplaySession", request_serializer=_identity, response_deserializer=_identity
    )
    with pytest.raises(grpc.RpcError) as caught:
        list(call(iter([CORRUPT["truncated"]]), timeout=10))
    _assert_invalid(caught.value)
    start = replay_pb2.ReplayControl(start=replay_pb2.ReplayStart(session_id="nope")).SerializeToString()
    with pytest.raises(grpc.RpcError) as caught:  # a good start, then garbage: refused either way, never INTERNAL
        list(call(iter([start, CORRUPT["bad-wire-type"]]), timeout=10))
    assert caught.value.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)  # type: ignore[attr-defined]


def test_a_flood_of_malformed_requests_logs_a_few_info_lines(
    server_factory: Callable[..., ServerProcess],
) -> None:
    server = server_factory(args=["--no-access-log"])
    with grpc.insecure_channel(server.address) as ch:
        call = ch.unary_unary(SESSION + "GetSession", request_serializer=_identity, response_deserializer=_identity)
        for _ in range(300):
            with pytest.raises(grpc.RpcError):
                call(CORRUPT["truncated"], timeout=10)
        ok = ch.unary_unary(SESSION + "CreateSession", request_serializer=_identity, response_deserializer=_identity)
        ok(b"", timeout=10)  # still serving
    time.sleep(0.3)  # the log writer thread
    text = "".join(server.log)
    assert "Traceback" not in text and " ERROR " not in text, text[-3000:]
    lines = [line for line in server.log if "malformed" in line]
    assert 1 <= len(lines) <= 3, lines
    assert all(" INFO " in line for line in lines), lines


def _upload_call(channel: grpc.Channel) -> grpc.StreamUnaryMultiCallable:
    return channel.stream_unary(
        ARTIFACT + "UploadArtifact", request_serializer=_identity, response_deserializer=_identity
    )


@pytest.mark.parametrize(
    "payload", [*STREAM_CASES.values(), b"\x12\x05ab", b"\x12\x80"], ids=[*STREAM_CASES, "short-data", "cut-length"]
)
def test_upload_data_that_does_not_parse_is_invalid_argument(channel: grpc.Channel, payload: bytes) -> None:
    """UploadArtifact reads a data message as its data alone when that is all it holds, else parses
    it: either way bytes that do not parse are refused as such (here right after a valid header)."""
    sid = common_pb2.Session.FromString(
        channel.unary_unary(SESSION + "CreateSession", request_serializer=_identity, response_deserializer=_identity)(
            b"", timeout=10
        )
    ).session_id
    header = artifact_pb2.UploadArtifactRequest(header=artifact_pb2.UploadHeader(session_id=sid, name="x"))
    with pytest.raises(grpc.RpcError) as caught:
        _upload_call(channel)(iter([header.SerializeToString(), payload]), timeout=10)
    _assert_invalid(caught.value)


def test_upload_messages_out_of_place_are_invalid_argument(channel: grpc.Channel) -> None:
    sid = common_pb2.Session.FromString(
        channel.unary_unary(SESSION + "CreateSession", request_serializer=_identity, response_deserializer=_identity)(
            b"", timeout=10
        )
    ).session_id
    header = artifact_pb2.UploadArtifactRequest(header=artifact_pb2.UploadHeader(session_id=sid, name="x"))
    data = artifact_pb2.UploadArtifactRequest(data=b"abc")
    for stream, field in (([data], "header"), ([], "header"), ([header, data, header], "header")):
        with pytest.raises(grpc.RpcError) as caught:
            _upload_call(channel)(iter([m.SerializeToString() for m in stream]), timeout=10)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, field  # type: ignore[attr-defined]
        assert "header" in (caught.value.details() or "")  # type: ignore[attr-defined]


def test_upload_data_messages_read_whole_or_sliced_store_the_same_bytes(channel: grpc.Channel) -> None:
    """A data message with a field after its data (what a newer client might send) is parsed by the
    runtime instead of sliced; the stored artifact is the bytes sent either way."""
    sid = common_pb2.Session.FromString(
        channel.unary_unary(SESSION + "CreateSession", request_serializer=_identity, response_deserializer=_identity)(
            b"", timeout=10
        )
    ).session_id
    header = artifact_pb2.UploadArtifactRequest(header=artifact_pb2.UploadHeader(session_id=sid, name="mixed"))
    plain = artifact_pb2.UploadArtifactRequest(data=b"first part ").SerializeToString()
    extended = artifact_pb2.UploadArtifactRequest(data=b"second part").SerializeToString() + b"\x78\x01"  # field 15
    raw = _upload_call(channel)(iter([header.SerializeToString(), plain, extended]), timeout=10)
    artifact = common_pb2.Artifact.FromString(raw)
    assert artifact.size == len(b"first part second part")
    download = channel.unary_stream(
        ARTIFACT + "DownloadArtifact", request_serializer=_identity, response_deserializer=_identity
    )
    request = artifact_pb2.DownloadArtifactRequest(artifact_id=artifact.artifact_id).SerializeToString()
    messages = [artifact_pb2.DownloadArtifactResponse.FromString(m) for m in download(request, timeout=10)]
    assert b"".join(m.data for m in messages[1:]) == b"first part second part"
