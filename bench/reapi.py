"""A minimal REAPI client for the CAS peers: ByteStream Write/Read and BatchUpdateBlobs, SHA-256 digests.

The messages are declared here from their field numbers (``google.bytestream`` and
``build.bazel.remote.execution.v2``), built at import time with this venv's protobuf, so the load
generator needs neither the peer's own generated stubs nor its protobuf version: only the wire
format is shared. Statuses in responses are read as raw bytes (they are only checked for emptiness).
Every call goes through one blocking grpcio channel with the same message limits as SessionClient.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

MESSAGE_BYTES = 1024 * 1024
OPTIONS = [
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
]
T = descriptor_pb2.FieldDescriptorProto
STRING, BYTES, INT64, BOOL, MESSAGE = T.TYPE_STRING, T.TYPE_BYTES, T.TYPE_INT64, T.TYPE_BOOL, T.TYPE_MESSAGE
REPEATED = T.LABEL_REPEATED

# message name -> fields (name, number, type, message type or "", repeated)
MESSAGES: dict[str, list[tuple[str, int, int, str, bool]]] = {
    "ReadRequest": [
        ("resource_name", 1, STRING, "", False),
        ("read_offset", 2, INT64, "", False),
        ("read_limit", 3, INT64, "", False),
    ],
    "ReadResponse": [("data", 10, BYTES, "", False)],
    "WriteRequest": [
        ("resource_name", 1, STRING, "", False),
        ("write_offset", 2, INT64, "", False),
        ("finish_write", 3, BOOL, "", False),
        ("data", 10, BYTES, "", False),
    ],
    "WriteResponse": [("committed_size", 1, INT64, "", False)],
    "Digest": [("hash", 1, STRING, "", False), ("size_bytes", 2, INT64, "", False)],
    "UpdateRequest": [("digest", 1, MESSAGE, "Digest", False), ("data", 2, BYTES, "", False)],
    "BatchUpdateBlobsRequest": [
        ("instance_name", 1, STRING, "", False),
        ("requests", 2, MESSAGE, "UpdateRequest", True),
    ],
    "UpdateResponse": [("digest", 1, MESSAGE, "Digest", False), ("status", 2, BYTES, "", False)],
    "BatchUpdateBlobsResponse": [("responses", 1, MESSAGE, "UpdateResponse", True)],
    "FindMissingBlobsRequest": [("instance_name", 1, STRING, "", False), ("blob_digests", 2, MESSAGE, "Digest", True)],
    "FindMissingBlobsResponse": [("missing_blob_digests", 1, MESSAGE, "Digest", True)],
}
PACKAGE = "llmspell_bench.reapi"
BYTESTREAM = "/google.bytestream.ByteStream/"
CAS = "/build.bazel.remote.execution.v2.ContentAddressableStorage/"


def _build() -> dict[str, Any]:
    """The message classes, declared in a private pool (no clash with a real REAPI import)."""
    file = descriptor_pb2.FileDescriptorProto(name="llmspell_bench_reapi.proto", package=PACKAGE, syntax="proto3")
    for name, fields in MESSAGES.items():
        message = file.message_type.add(name=name)
        for field_name, number, kind, type_name, repeated in fields:
            field = message.field.add(
                name=field_name, number=number, type=kind, label=REPEATED if repeated else T.LABEL_OPTIONAL
            )
            if type_name:
                field.type_name = f".{PACKAGE}.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{PACKAGE}.{name}")) for name in MESSAGES}


M = _build()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class CasClient:
    """ByteStream and CAS calls against one REAPI server (instance name may be empty)."""

    def __init__(self, address: str, instance: str = "") -> None:
        self.channel = grpc.insecure_channel(address, options=OPTIONS)
        self.prefix = f"{instance}/" if instance else ""
        self.instance = instance
        req = M
        self._write = self.channel.stream_unary(
            BYTESTREAM + "Write", req["WriteRequest"].SerializeToString, req["WriteResponse"].FromString
        )
        self._read = self.channel.unary_stream(
            BYTESTREAM + "Read", req["ReadRequest"].SerializeToString, req["ReadResponse"].FromString
        )
        self._batch = self.channel.unary_unary(
            CAS + "BatchUpdateBlobs",
            req["BatchUpdateBlobsRequest"].SerializeToString,
            req["BatchUpdateBlobsResponse"].FromString,
        )
        self._missing = self.channel.unary_unary(
            CAS + "FindMissingBlobs",
            req["FindMissingBlobsRequest"].SerializeToString,
            req["FindMissingBlobsResponse"].FromString,
        )

    def ready(self, timeout: float) -> None:
        grpc.channel_ready_future(self.channel).result(timeout=timeout)

    def write(self, data: bytes, digest: str, timeout: float = 300.0) -> int:
        """ByteStream Write of data in 1 MiB messages; returns committed_size."""
        resource = f"{self.prefix}uploads/{uuid.uuid4()}/blobs/{digest}/{len(data)}"
        view = memoryview(data)
        write_request = M["WriteRequest"]

        def messages() -> Iterator[Any]:
            offsets = range(0, len(data), MESSAGE_BYTES) if data else range(1)
            for offset in offsets:
                last = offset + MESSAGE_BYTES >= len(data)
                yield write_request(
                    resource_name=resource if offset == 0 else "",
                    write_offset=offset,
                    finish_write=last,
                    data=bytes(view[offset : offset + MESSAGE_BYTES]),
                )

        return int(self._write(messages(), timeout=timeout).committed_size)

    def read(self, digest: str, size: int, timeout: float = 300.0) -> Iterator[bytes]:
        """ByteStream Read: the blob's bytes as the server streams them."""
        request = M["ReadRequest"](resource_name=f"{self.prefix}blobs/{digest}/{size}")
        for response in self._read(request, timeout=timeout):
            yield response.data

    def batch_update(self, blobs: list[tuple[str, bytes]], timeout: float = 300.0) -> None:
        """BatchUpdateBlobs of (digest, data) pairs; RuntimeError if any blob failed."""
        request = M["BatchUpdateBlobsRequest"](instance_name=self.instance)
        for digest, data in blobs:
            request.requests.add(digest=M["Digest"](hash=digest, size_bytes=len(data)), data=data)
        response = self._batch(request, timeout=timeout)
        failed = [r for r in response.responses if r.status and r.status != b"\x08\x00"]
        if failed:
            raise RuntimeError(f"BatchUpdateBlobs: {len(failed)} blob(s) failed: {failed[0].status!r}")

    def find_missing(self, blobs: list[tuple[str, int]], timeout: float = 60.0) -> list[str]:
        request = M["FindMissingBlobsRequest"](instance_name=self.instance)
        for digest, size in blobs:
            request.blob_digests.add(hash=digest, size_bytes=size)
        return [d.hash for d in self._missing(request, timeout=timeout).missing_blob_digests]

    def close(self) -> None:
        self.channel.close()
