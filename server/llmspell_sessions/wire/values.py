"""JSON values, timestamps and enums on the wire: google.protobuf.Value/Struct/Timestamp <-> Python.

Python values are written into Struct/Value messages by the native codec when it is built (its wire
bytes merged in one call), and read back by it (from the message's bytes), else field by field
through the protobuf runtime.

JSON numbers travel as doubles in google.protobuf.Value; integral ones within ±2^53 come back as
Python ints so a value round-trips the same through the embedded API and over gRPC.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any, TypeVar

from google.protobuf import struct_pb2, timestamp_pb2
from google.protobuf.message import DecodeError, Message

from ..errors import InvalidArgument
from ..native import load
from ..times import to_micros

NATIVE: ModuleType | None = load("llmspell_sessions.wire._codec", honour_require=False)
"""The native codec (``native/wire_codec.pyx``): one pass in C instead of ~1 us per value through the
protobuf runtime (bench/README.md, "Struct and Value messages"). None when it is not built (the light
client) or LLMSPELL_SESSIONS_PURE=1 asks for the Python paths."""
_STRUCT_BYTES: Callable[[Mapping[str, Any]], bytes] | None = NATIVE.struct_bytes if NATIVE else None
_VALUE_BYTES: Callable[[Any], bytes] | None = NATIVE.value_bytes if NATIVE else None
_STRUCT_FROM_BYTES: Callable[[bytes], dict[str, Any]] | None = NATIVE.struct_from_bytes if NATIVE else None
_VALUE_FROM_BYTES: Callable[[bytes], Any] | None = NATIVE.value_from_bytes if NATIVE else None
_EXACT_INT = 2**53
# The range google.protobuf.Timestamp allows: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59.999999999Z.
MIN_SECONDS, MAX_SECONDS = -62_135_596_800, 253_402_300_799
MAX_NANOS = 999_999_999
EPOCH = datetime.fromtimestamp(0, UTC)
# The earliest time filter handed to the engine: its time index takes no negative times and reads
# the epoch itself (0) as "no filter". No record is that old, so every earlier bound selects the same.
E = TypeVar("E")


def value_to_py(value: struct_pb2.Value) -> Any:
    """The Python value (None, bool, int/float, str, list, dict) a google.protobuf.Value holds."""
    if _VALUE_FROM_BYTES is not None:
        return _VALUE_FROM_BYTES(value.SerializeToString())
    return _get_value(value)


def struct_to_py(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as a dict of Python values."""
    if _STRUCT_FROM_BYTES is not None:
        return _STRUCT_FROM_BYTES(struct.SerializeToString())
    return {key: _get_value(item) for key, item in struct.fields.items()}


def _get_value(value: struct_pb2.Value) -> Any:
    """value_to_py through the protobuf runtime, field by field: the reference the native decoder
    (``_codec.value_from_bytes``) is tested against, and the path when it is not built."""
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() and -_EXACT_INT <= number <= _EXACT_INT else number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return {key: _get_value(item) for key, item in value.struct_value.fields.items()}
    if kind == "list_value":
        return [_get_value(item) for item in value.list_value.values]
    return None


def py_to_value(obj: Any, target: struct_pb2.Value) -> struct_pb2.Value:
    """Fills target with a JSON-shaped Python value (TypeError for anything else)."""
    if _VALUE_BYTES is not None and _merged(target, _VALUE_BYTES, obj):
        return target
    return _set_value(obj, target)


def py_to_struct(obj: Mapping[str, Any], target: struct_pb2.Struct) -> struct_pb2.Struct:
    """Fills a Struct with a mapping of JSON-shaped values."""
    if _STRUCT_BYTES is not None and _merged(target, _STRUCT_BYTES, obj):
        return target
    for key, item in obj.items():
        _set_value(item, target.fields[key])
    return target


def _merged(target: Message, encode: Callable[[Any], bytes], obj: Any) -> bool:
    """Merges the native encoding of obj into target; False when the runtime refuses to parse it
    (nested past its 100 message levels), for the field-by-field path to build it as before."""
    try:
        target.MergeFromString(encode(obj))
    except DecodeError:
        return False
    return True


def _set_value(obj: Any, target: struct_pb2.Value) -> struct_pb2.Value:
    """py_to_value through the protobuf runtime, field by field: the reference the native
    encoder (``_codec.value_bytes``) is tested against, and the path when it is not built."""
    if obj is None:
        target.null_value = struct_pb2.NULL_VALUE
    elif isinstance(obj, bool):
        target.bool_value = obj
    elif isinstance(obj, int | float):
        target.number_value = obj
    elif isinstance(obj, str):
        target.string_value = obj
    elif isinstance(obj, Mapping):
        target.struct_value.SetInParent()
        for key, item in obj.items():
            _set_value(item, target.struct_value.fields[key])
    elif isinstance(obj, list | tuple):
        target.list_value.SetInParent()
        for item in obj:
            _set_value(item, target.list_value.values.add())
    else:
        raise TypeError(f"not a JSON value: {type(obj).__name__}")
    return target


def value_map_to_py(values: Mapping[str, struct_pb2.Value]) -> dict[str, Any]:
    """A ``map<string, Value>`` field as a dict."""
    return {key: value_to_py(item) for key, item in values.items()}


def py_to_value_map(obj: Mapping[str, Any], target: MutableMapping[str, struct_pb2.Value]) -> None:
    """Fills a ``map<string, Value>`` field."""
    for key, item in obj.items():
        py_to_value(item, target[key])  # type: ignore[arg-type]


def to_timestamp(value: datetime | None, target: timestamp_pb2.Timestamp) -> None:
    """Sets target to value; None leaves it unset."""
    if value is not None:  # from µs: FromDatetime's timetuple round trip costs 3x more, 5 times a Session
        seconds, micros = divmod(to_micros(value), 1_000_000)
        target.seconds = seconds
        target.nanos = micros * 1000


def from_timestamp(value: timestamp_pb2.Timestamp) -> datetime | None:
    """A record's time (aware, UTC); the zero Timestamp is "not set"."""
    seconds, nanos = value.seconds, value.nanos
    if seconds == 0 and nanos == 0:
        return None
    # As ToDatetime(tzinfo=UTC) gives it (nanoseconds cut to microseconds), in 60% of its time.
    return EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)


def filter_time_from_pb(message: Message, field: str) -> datetime | None:
    """A time filter of a request: None when unset, InvalidArgument outside the Timestamp range
    (any valid time, before 1970 too, is the engine's to apply)."""
    if not message.HasField(field):
        return None
    value: timestamp_pb2.Timestamp = getattr(message, field)
    if not (MIN_SECONDS <= value.seconds <= MAX_SECONDS and 0 <= value.nanos <= MAX_NANOS):
        raise InvalidArgument(
            f"{field} must be a Timestamp within 0001-01-01..9999-12-31 with nanos in 0..{MAX_NANOS}"
            f" (got seconds={value.seconds}, nanos={value.nanos})",
            field=field,
        )
    return value.ToDatetime(tzinfo=UTC)


def filter_time_to_pb(value: datetime | None, message: Message, field: str) -> None:
    """Sets a request's time filter (None leaves it unset, so the server sees no filter)."""
    if value is not None:
        getattr(message, field).FromDatetime(value)


def enum_from_pb(cls: type[E], value: int, field: str) -> E:
    """A domain enum member for a wire value; an unknown number is InvalidArgument naming the field."""
    try:
        return cls(value)  # type: ignore[call-arg]
    except ValueError:
        raise InvalidArgument(f"{field}: {value} is not a known {cls.__name__}", field=field) from None
