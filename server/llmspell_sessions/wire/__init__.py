"""Protobuf <-> domain conversion, the one place for it: servicers and clients both use these.

Each message is converted here in both directions (``*_to_pb`` / ``*_from_pb``). Imports only the
domain (model.py, errors.py), the generated _pb modules and its own native Struct/Value codec when
built (``_codec``, never required), so the light client stays light.
"""

from . import artifacts, replay, sessions
from .records import (
    ACCESS_FROM_PB,
    ACCESS_TO_PB,
    artifact_from_pb,
    artifact_to_pb,
    checkpoint_from_pb,
    checkpoint_to_pb,
    event_bytes,
    event_from_bytes,
    event_from_pb,
    event_to_pb,
    session_from_pb,
    session_to_pb,
)
from .values import (
    enum_from_pb,
    filter_time_from_pb,
    from_timestamp,
    py_to_struct,
    py_to_value,
    py_to_value_map,
    struct_to_py,
    to_timestamp,
    value_map_to_py,
    value_to_py,
)

__all__ = [
    "ACCESS_FROM_PB",
    "ACCESS_TO_PB",
    "artifact_from_pb",
    "artifact_to_pb",
    "artifacts",
    "checkpoint_from_pb",
    "checkpoint_to_pb",
    "enum_from_pb",
    "event_bytes",
    "event_from_bytes",
    "event_from_pb",
    "event_to_pb",
    "filter_time_from_pb",
    "from_timestamp",
    "py_to_struct",
    "py_to_value",
    "py_to_value_map",
    "replay",
    "sessions",
    "session_from_pb",
    "session_to_pb",
    "struct_to_py",
    "to_timestamp",
    "value_map_to_py",
    "value_to_py",
]
