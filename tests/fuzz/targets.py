"""What one fuzz input means: an RPC of the three services and its request message(s), parsed from bytes.

Input layout: byte 0 = length L of a method name (mod 40), then L bytes naming the method (an unknown
name picks one by its CRC), then the request: for client-streaming RPCs, up to 8 messages each
prefixed by its varint length. A fixed placeholder session id in the bytes is swapped for a live session's id, so
seeds reach past NOT_FOUND. Imports of llmspell_sessions happen in ``load`` (after instrumentation).
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import Any

PLACEHOLDER_ID = b"00000000-0000-7000-8000-000000000000"
SERVICE_MODULES = ("session_pb2", "artifact_pb2", "replay_pb2")
# A server failing like this is a bug whatever the input: an unhandled error, a dead or wedged server.
BAD_CODES = frozenset({"INTERNAL", "UNKNOWN", "DATA_LOSS", "UNAVAILABLE"})
UNARY_TIMEOUT = 10.0
STREAM_TIMEOUT = 0.5  # live streams (SubscribeEvents, a paused replay) only end by deadline
MAX_STREAM_MESSAGES = 32


@dataclasses.dataclass(frozen=True)
class Target:
    """One RPC: its path, request class, and whether each side streams."""

    path: str
    name: str
    request: Any
    client_streaming: bool
    server_streaming: bool


def load() -> list[Target]:
    """Every RPC of the three services, sorted by name."""
    import importlib

    from google.protobuf import symbol_database

    db = symbol_database.Default()
    found = []
    for module_name in SERVICE_MODULES:
        module = importlib.import_module(f"llmspell_sessions._pb.{module_name}")
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                found.append(
                    Target(
                        f"/{service.full_name}/{method.name}",
                        method.name,
                        db.GetSymbol(method.input_type.full_name),
                        method.client_streaming,
                        method.server_streaming,
                    )
                )
    return sorted(found, key=lambda t: t.name)


def encode_input(name: str, payload: bytes) -> bytes:
    """The fuzz input that calls ``name`` with ``payload`` (how seeds are written)."""
    raw = name.encode()
    return bytes([len(raw)]) + raw + payload


def decode_input(targets: list[Target], data: bytes, live_id: bytes) -> tuple[Target, list[Any]] | None:
    """(target, request messages) for an input, or None when no message parses."""
    if not data:
        return None
    length = data[0] % 40
    name, payload = data[1 : 1 + length], data[1 + length :]
    by_name = {t.name.encode(): t for t in targets}
    target = by_name.get(name) or targets[zlib.crc32(name) % len(targets)]
    payload = payload.replace(PLACEHOLDER_ID, live_id)
    parts = split_delimited(payload) if target.client_streaming else [payload]
    messages = []
    for part in parts:
        try:
            messages.append(target.request.FromString(part))
        except Exception:  # noqa: BLE001 - protobuf raises DecodeError and friends on junk
            continue
    return (target, messages) if messages else None


def split_delimited(payload: bytes, limit: int = 8) -> list[bytes]:
    """Varint-length-prefixed parts; whatever does not fit the framing becomes the last part."""
    from google.protobuf.internal.decoder import _DecodeVarint

    parts, position = [], 0
    while position < len(payload) and len(parts) < limit:
        try:
            size, start = _DecodeVarint(payload, position)
        except Exception:  # noqa: BLE001 - a truncated varint
            break
        parts.append(payload[start : start + size])
        position = start + size
    if position < len(payload) and len(parts) < limit:
        parts.append(payload[position:])
    return parts or [b""]


def delimited(messages: list[bytes]) -> bytes:
    """The inverse of split_delimited, for seeds."""
    from google.protobuf.internal.encoder import _VarintBytes

    return b"".join(_VarintBytes(len(m)) + m for m in messages)


def call(channel: Any, target: Target, messages: list[Any]) -> str:
    """Sends the messages, reads a bounded part of any response stream; returns the status code name."""
    import grpc

    serialize, deserialize = (lambda m: m.SerializeToString()), (lambda b: b)
    timeout = STREAM_TIMEOUT if target.server_streaming else UNARY_TIMEOUT
    kind = ("stream" if target.client_streaming else "unary") + "_" + ("stream" if target.server_streaming else "unary")
    stub = getattr(channel, kind)(target.path, request_serializer=serialize, response_deserializer=deserialize)
    request = iter(messages) if target.client_streaming else messages[0]
    try:
        if target.server_streaming:
            responses = stub(request, timeout=timeout)
            for count, _ in enumerate(responses):
                if count >= MAX_STREAM_MESSAGES:
                    responses.cancel()
                    break
        else:
            stub(request, timeout=timeout)
    except grpc.RpcError as error:
        return error.code().name
    return "OK"


def verdict(target: Target, code: str) -> str | None:
    """Why this outcome is a server bug, or None when it is an acceptable answer."""
    if code in BAD_CODES:
        return f"{target.name} answered {code}"
    if code == "DEADLINE_EXCEEDED" and not target.server_streaming:
        return f"{target.name} did not answer within {UNARY_TIMEOUT} s"
    return None
