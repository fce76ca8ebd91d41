"""The native Struct/Value codec (``wire._codec``) against the protobuf runtime's field-by-field path.

Messages are compared after parsing (map entries may come in any order on the wire). Encoding: what
the encoder writes parses to the message the runtime builds, and the wire path (``py_to_struct``)
gives the same as the field-by-field one it replaces. Decoding: the runtime's serialization of any
message decodes to what the field-by-field reader returns, types included (int or float), and
malformed bytes are a ValueError, never a crash. Timestamps: read without the runtime's ToDatetime,
to the same datetime.
"""

from __future__ import annotations

import enum
import math
from datetime import UTC
from types import ModuleType
from typing import Any

import pytest
from google.protobuf import struct_pb2, timestamp_pb2
from hypothesis import given, settings
from hypothesis import strategies as st
from llmspell_sessions._pb import common_pb2, replay_pb2
from llmspell_sessions.wire import values

finite = st.floats(allow_nan=False, allow_infinity=False)
scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | finite | st.text()
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=40,
)
json_objects = st.dictionaries(st.text(max_size=8), json_values, max_size=8)


def typed(value: Any) -> Any:
    """value with its types spelled out, so 1 and 1.0 or False and 0 do not compare equal."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


def by_fields(obj: dict[str, Any]) -> struct_pb2.Struct:
    target = struct_pb2.Struct()
    for key, item in obj.items():
        values._set_value(item, target.fields[key])
    return target


@settings(max_examples=300, deadline=None)
@given(json_objects)
def test_struct_bytes_parse_to_the_runtimes_struct(codec: ModuleType, obj: dict[str, Any]) -> None:
    parsed = struct_pb2.Struct.FromString(codec.struct_bytes(obj))
    assert parsed == by_fields(obj)
    assert values.py_to_struct(obj, struct_pb2.Struct()) == by_fields(obj)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_value_bytes_parse_to_the_runtimes_value(codec: ModuleType, value: Any) -> None:
    expected = values._set_value(value, struct_pb2.Value())
    assert struct_pb2.Value.FromString(codec.value_bytes(value)) == expected


@pytest.mark.parametrize(
    "value",
    [None, True, False, 0, -1, 2**53 + 1, -0.0, 1e308, "", "é✓\U0001f600", [], {}, [[[]]], {"": {"": [None]}}],
)
def test_edge_values(codec: ModuleType, value: Any) -> None:
    expected = values._set_value(value, struct_pb2.Value())
    got = struct_pb2.Value.FromString(codec.value_bytes(value))
    assert got == expected and got.WhichOneof("kind") == expected.WhichOneof("kind")


def test_a_long_string_takes_a_multi_byte_length(codec: ModuleType) -> None:
    obj = {"k" * 200: "v" * 70_000, "list": ["x" * 130] * 3}
    assert struct_pb2.Struct.FromString(codec.struct_bytes(obj)) == by_fields(obj)


@pytest.mark.parametrize(
    ("obj", "error"),
    [
        ({1: "a"}, TypeError),
        ({"a": object()}, TypeError),
        ({"a": {"b": {1, 2}}}, TypeError),
        ({"a": 10**400}, OverflowError),
    ],
)
def test_non_json_values_are_refused_like_the_runtime_refuses_them(
    codec: ModuleType, obj: dict[Any, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        codec.struct_bytes(obj)
    with pytest.raises((TypeError, ValueError, OverflowError)):
        by_fields(obj)


def test_nesting_past_the_runtimes_limit_is_built_field_by_field(codec: ModuleType) -> None:
    """The runtime parses at most 100 message levels; deeper values are built as before."""
    deep: dict[str, Any] = {}
    cursor = deep
    for _ in range(40):
        cursor["a"] = {}
        cursor = cursor["a"]
    event = common_pb2.Event()
    values.py_to_struct(deep, event.payload)
    assert event.payload == by_fields(deep)
    with pytest.raises(ValueError):
        codec.value_bytes(_nested_list(300))


def test_an_event_payload_round_trips_through_a_replay_frame() -> None:
    payload = {"tool": "search", "args": {"q": "stores", "k": 5, "tags": ["a", "b"]}, "ok": True, "ms": 12.5}
    frame = replay_pb2.ReplayFrame()
    values.py_to_struct(payload, frame.event.payload)
    parsed = replay_pb2.ReplayFrame.FromString(frame.SerializeToString())
    assert values.struct_to_py(parsed.event.payload) == payload
    assert not math.isnan(parsed.event.payload.fields["ms"].number_value)


def _nested_list(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


@settings(max_examples=300, deadline=None)
@given(json_objects)
def test_struct_from_bytes_reads_what_the_runtime_reads(codec: ModuleType, obj: dict[str, Any]) -> None:
    message = by_fields(obj)
    expected = {key: values._get_value(item) for key, item in message.fields.items()}
    got = codec.struct_from_bytes(message.SerializeToString())
    assert typed(got) == typed(expected)
    assert typed(values.struct_to_py(message)) == typed(expected)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_value_from_bytes_reads_what_the_runtime_reads(codec: ModuleType, value: Any) -> None:
    message = values._set_value(value, struct_pb2.Value())
    got = codec.value_from_bytes(message.SerializeToString())
    assert typed(got) == typed(values._get_value(message))


@pytest.mark.parametrize(
    "number", [0.0, -0.0, 1.0, 2.0**53, 2.0**53 + 2, -(2.0**53), 1e300, 0.5, float("nan"), math.inf]
)
def test_numbers_come_back_as_the_runtime_returns_them(codec: ModuleType, number: float) -> None:
    message = struct_pb2.Value(number_value=number)
    got, expected = codec.value_from_bytes(message.SerializeToString()), values._get_value(message)
    assert type(got) is type(expected)
    assert got == expected or (math.isnan(got) and math.isnan(expected))


def test_an_empty_value_and_empty_messages(codec: ModuleType) -> None:
    assert codec.value_from_bytes(b"") is None
    assert codec.struct_from_bytes(b"") == {}
    assert codec.value_from_bytes(struct_pb2.Value(struct_value=struct_pb2.Struct()).SerializeToString()) == {}
    assert codec.value_from_bytes(struct_pb2.Value(list_value=struct_pb2.ListValue()).SerializeToString()) == []


@settings(max_examples=500, deadline=None)
@given(json_objects, st.data())
def test_malformed_bytes_are_a_value_error(codec: ModuleType, obj: dict[str, Any], data: st.DataObject) -> None:
    raw = by_fields(obj).SerializeToString()
    if not raw:
        return
    cut = data.draw(st.integers(0, len(raw) - 1))
    flipped = data.draw(st.integers(0, 255))
    for broken in (raw[:cut], raw[:cut] + bytes([flipped]) + raw[cut + 1 :]):
        try:
            codec.struct_from_bytes(broken)
        except (ValueError, UnicodeDecodeError):
            pass  # refused: never a crash, never another exception


@settings(max_examples=300, deadline=None)
@given(st.integers(-62_135_596_800, 253_402_300_799), st.integers(0, 999_999_999))
def test_timestamps_read_as_the_runtime_reads_them(seconds: int, nanos: int) -> None:
    stamp = timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)
    expected = None if seconds == 0 and nanos == 0 else stamp.ToDatetime(tzinfo=UTC)
    assert values.from_timestamp(stamp) == expected
    if expected is not None:
        again = timestamp_pb2.Timestamp()
        values.to_timestamp(expected, again)
        assert (again.seconds, again.nanos) == (seconds, nanos // 1000 * 1000)


class Kind(enum.StrEnum):
    TOOL = "tool"


class Level(enum.IntEnum):
    HIGH = 3


def test_subclasses_of_str_and_int_are_written_as_their_values(codec: ModuleType) -> None:
    obj = {Kind.TOOL: Kind.TOOL, "level": Level.HIGH, "nested": {"kind": Kind.TOOL}}
    assert struct_pb2.Struct.FromString(codec.struct_bytes(obj)) == by_fields(obj)
    assert values.struct_to_py(values.py_to_struct(obj, struct_pb2.Struct())) == {
        "tool": "tool",
        "level": 3,
        "nested": {"kind": "tool"},
    }
