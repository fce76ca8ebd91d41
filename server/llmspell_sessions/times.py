"""Times as integer microseconds since the epoch: how records store them and the wire is filled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(value: datetime | None) -> int:
    if value is None:
        return 0
    delta = value - EPOCH
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime | None:
    if not value:
        return None
    return EPOCH + timedelta(microseconds=value)
