"""Data messages of downloads and uploads written as wire bytes and read back with one slice
(``wire.raw``, ``wire.artifacts``), against the protobuf runtime's DownloadArtifactResponse and
UploadArtifactRequest."""

from __future__ import annotations

import os

import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st
from llmspell_sessions._pb import artifact_pb2, common_pb2
from llmspell_sessions.wire.artifacts import download_response_from_bytes, upload_request_from_bytes
from llmspell_sessions.wire.raw import data_message, data_of

Response = artifact_pb2.DownloadArtifactResponse


@pytest.mark.parametrize("size", [0, 1, 127, 128, 16_383, 16_384, 2 * 1024 * 1024 + 3])
def test_a_data_message_parses_to_the_runtimes_message_and_reads_back_as_its_data(size: int) -> None:
    data = os.urandom(size)
    parts = [data[i : i + 65_536] for i in range(0, size, 65_536)]
    written = data_message(parts, size)
    assert Response.FromString(written) == Response(data=data)
    assert written == Response(data=data).SerializeToString()
    read = download_response_from_bytes(written)
    assert isinstance(read, bytes) and read == data


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=6))
def test_generated_parts(parts: list[bytes]) -> None:
    joined = b"".join(parts)
    assert data_of(download_response_from_bytes(data_message(parts, len(joined)))) == joined


def test_the_metadata_message_is_parsed() -> None:
    first = Response(artifact=common_pb2.Artifact(artifact_id="a", name="n", size=3))
    read = download_response_from_bytes(first.SerializeToString())
    assert isinstance(read, Response) and read.artifact.artifact_id == "a"


def test_data_with_another_field_after_it_is_read_by_the_runtime() -> None:
    """Data is read by slicing only when it is all the message holds (protobuf keeps the last of a
    oneof's fields: here the artifact that follows)."""
    written = data_message([b"abc"], 3) + Response(artifact=common_pb2.Artifact(artifact_id="z")).SerializeToString()
    read = download_response_from_bytes(written)
    assert isinstance(read, Response) and read == Response.FromString(written)


TRUNCATED = [b"\x12", b"\x12\x05ab", b"\x12\x80", b"\x12" + b"\xff" * 10 + b"\x01"]


@pytest.mark.parametrize("raw", TRUNCATED)
def test_malformed_data_messages_are_decode_errors(raw: bytes) -> None:
    with pytest.raises(DecodeError):
        download_response_from_bytes(raw)


def test_an_upload_data_message_reads_back_as_its_data_and_a_header_as_the_message() -> None:
    data = os.urandom(1000)
    written = data_message((data,), len(data))
    assert artifact_pb2.UploadArtifactRequest.FromString(written) == artifact_pb2.UploadArtifactRequest(data=data)
    assert upload_request_from_bytes(written) == data
    header = artifact_pb2.UploadArtifactRequest(header=artifact_pb2.UploadHeader(session_id="s", name="n"))
    read = upload_request_from_bytes(header.SerializeToString())
    assert isinstance(read, artifact_pb2.UploadArtifactRequest) and read == header
