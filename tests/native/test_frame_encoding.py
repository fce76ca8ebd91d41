"""ReplayFrame and Event messages written and read whole by the native codec (``wire._codec``),
against the protobuf runtime's messages built field by field.

Encoding: the bytes a frame or an event is written as parse to the message the runtime builds from
the same model object, unset fields included. Decoding: the runtime's serialization of any such
message reads back to the model object ``frame_from_pb``/``event_from_pb`` give, types included,
unknown fields are skipped, and malformed bytes are a ValueError, never a crash.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from llmspell_sessions._pb import common_pb2, replay_pb2
from llmspell_sessions.model import Event, ReplayFrame, ReplayStatus
from llmspell_sessions.times import to_micros
from llmspell_sessions.wire import records, values
from llmspell_sessions.wire import replay as wire_replay

from .test_struct_encoding import typed

int64 = st.integers(0, 2**63 - 1)
exact = st.integers(-(2**53), 2**53) | st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | exact | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
times = st.datetimes(datetime(1900, 1, 1), datetime(2200, 1, 1), timezones=st.just(UTC))
events = st.builds(
    Event,
    session_id=st.text(max_size=20),
    seq=int64,
    type=st.text(max_size=20),
    time=times,
    actor=st.text(max_size=10),
    correlation_id=st.text(max_size=10),
    causation_id=st.text(max_size=10),
    payload=st.dictionaries(st.text(max_size=8), json_values, max_size=6),
)
frames = st.builds(
    ReplayFrame,
    event=st.none() | events,
    index=int64,
    total=int64,
    status=st.sampled_from(list(ReplayStatus)),
    changed_keys=st.lists(st.text(max_size=12), max_size=4),
)


def event_by_fields(e: Event, target: common_pb2.Event) -> common_pb2.Event:
    """The Event message built one field at a time by the runtime (no native codec involved)."""
    target.session_id, target.seq, target.type = e.session_id, e.seq, e.type
    seconds, micros = divmod(to_micros(e.time), 1_000_000)
    target.time.seconds, target.time.nanos = seconds, micros * 1000
    target.actor, target.correlation_id, target.causation_id = e.actor, e.correlation_id, e.causation_id
    for key, item in e.payload.items():
        values._set_value(item, target.payload.fields[key])
    return target


def frame_by_fields(frame: ReplayFrame) -> replay_pb2.ReplayFrame:
    pb = replay_pb2.ReplayFrame(
        index=frame.index, total=frame.total, status=int(frame.status), changed_keys=frame.changed_keys
    )
    if frame.event is not None:
        event_by_fields(frame.event, pb.event)
    return pb


def same(a: Any, b: Any) -> bool:
    """Equal model objects, payload types included (1 is not 1.0)."""
    event_a, event_b = getattr(a, "event", a), getattr(b, "event", b)
    if (event_a is None) != (event_b is None):
        return False
    return a == b and (event_a is None or typed(event_a.payload) == typed(event_b.payload))


@settings(max_examples=300, deadline=None)
@given(frames)
def test_frame_bytes_parse_to_the_runtimes_frame(codec: ModuleType, frame: ReplayFrame) -> None:
    micros = 0 if frame.event is None else to_micros(frame.event.time)
    written = codec.frame_bytes(frame.event, micros, frame.index, frame.total, int(frame.status), frame.changed_keys)
    parsed, expected = replay_pb2.ReplayFrame.FromString(written), frame_by_fields(frame)
    assert parsed == expected
    assert parsed.HasField("event") == expected.HasField("event")
    if frame.event is not None:
        assert parsed.event.HasField("payload") == expected.event.HasField("payload")
    assert replay_pb2.ReplayFrame.FromString(wire_replay.frame_bytes(frame)) == expected  # the path selected


@settings(max_examples=300, deadline=None)
@given(frames)
def test_frame_fields_read_what_frame_from_pb_reads(codec: ModuleType, frame: ReplayFrame) -> None:
    data = frame_by_fields(frame).SerializeToString()
    runtime = wire_replay.frame_from_pb(replay_pb2.ReplayFrame.FromString(data))
    native = wire_replay.frame_from_bytes(data)
    assert same(native, runtime) and native == frame  # integral numbers come back as int: 0.0 == 0


@settings(max_examples=200, deadline=None)
@given(events)
def test_event_bytes_round_trip(codec: ModuleType, event: Event) -> None:
    written = records.event_bytes(event)
    assert common_pb2.Event.FromString(written) == event_by_fields(event, common_pb2.Event())
    assert records.event_from_bytes(written) == event
    assert same(records.event_from_bytes(written), records.event_from_pb(common_pb2.Event.FromString(written)))


def test_the_final_frame_has_no_event(codec: ModuleType) -> None:
    final = ReplayFrame(None, 3, 3, ReplayStatus.COMPLETED, [])
    written = wire_replay.frame_bytes(final)
    assert not replay_pb2.ReplayFrame.FromString(written).HasField("event")
    assert wire_replay.frame_from_bytes(written) == final


def test_unknown_fields_are_skipped(codec: ModuleType) -> None:
    """A newer server may add fields: a varint, a fixed64, a fixed32 and a length-delimited one."""
    event = Event("s", 7, "t", datetime(2026, 1, 2, 3, 4, 5, 6, UTC), "a", "c", "", {"k": [1, "x"]})
    frame = ReplayFrame(event, 1, 2, ReplayStatus.RUNNING, ["k"])
    extra = b"\x78\x05" + b"\x81\x01" + b"\x00" * 8 + b"\x8d\x01" + b"\x00" * 4 + b"\x92\x01\x03abc"
    inner = records.event_bytes(event) + extra
    data = b"\x0a" + bytes([len(inner)]) + inner + b"\x10\x01\x18\x02\x20\x01\x2a\x01k" + extra
    assert same(wire_replay.frame_from_bytes(data), frame)


def test_an_unknown_status_is_refused_like_the_runtime_path(codec: ModuleType) -> None:
    data = replay_pb2.ReplayFrame(index=1, total=1, status=99).SerializeToString()  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        wire_replay.frame_from_pb(replay_pb2.ReplayFrame.FromString(data))
    with pytest.raises(ValueError):
        wire_replay.frame_from_bytes(data)


def test_every_truncation_of_a_frame_is_a_value_error_or_a_frame(codec: ModuleType) -> None:
    event = Event("sess", 300, "tool.called", datetime.now(UTC), "me", "c", "d", {"a": {"b": [1.5, None, "é"]}})
    data = wire_replay.frame_bytes(ReplayFrame(event, 1, 1, ReplayStatus.RUNNING, ["a", "b"]))
    for end in range(len(data)):
        try:
            codec.frame_fields(data[:end])
        except ValueError:
            pass


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_are_a_value_error_or_fields(codec: ModuleType, data: bytes) -> None:
    for read in (codec.frame_fields, codec.event_fields):
        try:
            read(data)
        except ValueError:
            pass


def test_text_that_is_not_utf8_is_refused(codec: ModuleType) -> None:
    """A payload key, or a string field, holding bytes that are not UTF-8 is malformed."""
    with pytest.raises(ValueError):
        codec.event_fields(b"\x42\x05\x0a\x03\x0a\x01\xff")  # payload > map entry > key 0xff
    with pytest.raises(ValueError):
        codec.frame_fields(b"\x2a\x01\xff")  # changed_keys
