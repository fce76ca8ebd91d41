"""The native Struct/Value encoder against the protobuf runtime's own field-by-field path.

Messages are compared after parsing (map entries may come in any order on the wire), and both
directions are checked: what the encoder writes parses to the message the runtime builds, and the
wire path (``py_to_struct``) gives the same as the field-by-field one it replaces.
"""

from __future__ import annotations

import math
from types import ModuleType
from typing import Any

import pytest
from google.protobuf import struct_pb2
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


def by_fields(obj: dict[str, Any]) -> struct_pb2.Struct:
    target = struct_pb2.Struct()
    for key, item in obj.items():
        values._set_value(item, target.fields[key])
    return target


@settings(max_examples=300, deadline=None)
@given(json_objects)
def test_struct_bytes_parse_to_the_runtimes_struct(native: ModuleType, obj: dict[str, Any]) -> None:
    parsed = struct_pb2.Struct.FromString(native.struct_bytes(obj))
    assert parsed == by_fields(obj)
    assert values.py_to_struct(obj, struct_pb2.Struct()) == by_fields(obj)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_value_bytes_parse_to_the_runtimes_value(native: ModuleType, value: Any) -> None:
    expected = values._set_value(value, struct_pb2.Value())
    assert struct_pb2.Value.FromString(native.value_bytes(value)) == expected


@pytest.mark.parametrize(
    "value",
    [None, True, False, 0, -1, 2**53 + 1, -0.0, 1e308, "", "é✓\U0001f600", [], {}, [[[]]], {"": {"": [None]}}],
)
def test_edge_values(native: ModuleType, value: Any) -> None:
    expected = values._set_value(value, struct_pb2.Value())
    got = struct_pb2.Value.FromString(native.value_bytes(value))
    assert got == expected and got.WhichOneof("kind") == expected.WhichOneof("kind")


def test_a_long_string_takes_a_multi_byte_length(native: ModuleType) -> None:
    obj = {"k" * 200: "v" * 70_000, "list": ["x" * 130] * 3}
    assert struct_pb2.Struct.FromString(native.struct_bytes(obj)) == by_fields(obj)


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
    native: ModuleType, obj: dict[Any, Any], error: type[Exception]
) -> None:
    with pytest.raises(error):
        native.struct_bytes(obj)
    with pytest.raises((TypeError, ValueError, OverflowError)):
        by_fields(obj)


def test_nesting_past_the_runtimes_limit_is_built_field_by_field(native: ModuleType) -> None:
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
        native.value_bytes(_nested_list(300))


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
