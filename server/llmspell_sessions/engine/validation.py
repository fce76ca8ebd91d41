"""Input validation shared by every face of the engine; each failure names the field."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import orjson

from ..errors import InvalidArgument
from .codec import to_micros
from .ids import is_uuid_text
from .limits import (
    MAX_DESCRIPTION_BYTES,
    MAX_METADATA_BYTES,
    MAX_NAME_BYTES,
    MAX_PAGE_SIZE,
    MAX_REQUEST_ID_CHARS,
    MAX_STATE_KEY_BYTES,
    MAX_TAG_CHARS,
    MAX_TAGS,
    MAX_UPLOAD_ID_CHARS,
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TENANT = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def session_id(value: str, field: str = "session_id") -> str:
    """A well-formed session id; a well-formed unknown id is the caller's NOT_FOUND, not ours."""
    if not value:
        raise InvalidArgument(f"{field} is required", field=field)
    if not is_uuid_text(value):
        raise InvalidArgument(f"{field} is not a session id (lowercase UUID text)", field=field)
    return value


def optional_session_id(value: str, field: str) -> str:
    return session_id(value, field) if value else ""


def text(value: str, field: str, *, max_bytes: int, required: bool = False, single_line: bool = True) -> str:
    """UTF-8 text without NUL (and without control characters when single_line)."""
    if not isinstance(value, str):
        raise InvalidArgument(f"{field} must be text", field=field)
    if value.isascii() and value.isprintable() and len(value) <= max_bytes and (value or not required):
        return value  # the common case: nothing to encode or search
    if required and not value:
        raise InvalidArgument(f"{field} is required", field=field)
    size = len(value.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise InvalidArgument(f"{field} is {size} bytes; at most {max_bytes}", field=field)
    if "\x00" in value or (single_line and _CONTROL.search(value)):
        raise InvalidArgument(f"{field} must not contain control characters", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InvalidArgument(f"{field} is not valid UTF-8", field=field) from exc
    return value


def name(value: str, field: str = "name", *, required: bool = False) -> str:
    return text(value, field, max_bytes=MAX_NAME_BYTES, required=required)


def description(value: str) -> str:
    return text(value, "description", max_bytes=MAX_DESCRIPTION_BYTES, single_line=False)


def tags(values: Iterable[str], field: str = "tags") -> list[str]:
    """At most 64 tags of 1-64 characters without control characters; duplicates are dropped."""
    result: list[str] = []
    for tag in values:
        if not isinstance(tag, str) or not tag or len(tag) > MAX_TAG_CHARS or _CONTROL.search(tag) or not _utf8(tag):
            raise InvalidArgument(f"each of {field} must be 1-{MAX_TAG_CHARS} printable characters", field=field)
        if tag not in result:
            result.append(tag)
    if len(result) > MAX_TAGS:
        raise InvalidArgument(f"at most {MAX_TAGS} {field}", field=field)
    return result


MAX_JSON_NESTING = 28
"""Objects and arrays one inside another in a stored JSON value. Every value must travel back over
gRPC, and protobuf parses at most 100 message levels, an object costing three (Struct, map entry,
Value). The deepest carrier is a state value restored by a rewind, in its session.rewound event
(payload, state, set) in a ListEvents response: 30 objects fit there today, and 28 leave room for
one more wrapper (tests/rpc/test_deep_values.py writes and reads every carrier at the limit)."""


def json_value(value: Any, field: str, max_bytes: int) -> bytes:
    """The canonical encoding of a JSON value; rejects NaN/Infinity, non-JSON types and oversize."""
    _reject_non_finite(value, field)
    try:
        encoded = orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise InvalidArgument(f"{field} is not a JSON value: {exc}", field=field) from exc
    if len(encoded) > max_bytes:
        raise InvalidArgument(f"{field} encodes to {len(encoded)} bytes; at most {max_bytes}", field=field)
    return encoded


def _reject_non_finite(value: Any, field: str, depth: int = 0) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument(f"{field} holds a NaN or infinite number", field=field)
    if depth >= MAX_JSON_NESTING and isinstance(value, dict | list | tuple):
        raise InvalidArgument(f"{field} nests more than {MAX_JSON_NESTING} objects or arrays", field=field)
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidArgument(f"{field} has a non-text key", field=field)
            _reject_non_finite(item, field, depth + 1)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_non_finite(item, field, depth + 1)


def metadata(value: Mapping[str, Any] | None) -> dict[str, Any]:
    data = dict(value or {})
    if data:
        json_value(data, "metadata", MAX_METADATA_BYTES)
    return data


def state_key(value: str) -> str:
    return text(value, "state key", max_bytes=MAX_STATE_KEY_BYTES, required=True)


def request_id(value: str) -> str:
    if len(value) > MAX_REQUEST_ID_CHARS or _CONTROL.search(value) or not _utf8(value):
        raise InvalidArgument(f"request_id must be at most {MAX_REQUEST_ID_CHARS} printable characters")
    return value


def page_size(value: int, default: int = 50, maximum: int = MAX_PAGE_SIZE) -> int:
    """AIP-158: 0 means the default, larger than the maximum is clamped, negative is an error."""
    if value < 0:
        raise InvalidArgument("page_size must not be negative", field="page_size")
    return default if value == 0 else min(value, maximum)


def tenant(value: str) -> str:
    if not _TENANT.match(value):
        raise InvalidArgument("tenant names are 1-64 characters of [A-Za-z0-9._-]", field="tenant")
    return value


def _utf8(value: str) -> bool:
    """False for text with lone surrogates, which no UTF-8 encoder (or store) accepts."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def upload_id(value: str) -> str:
    """A resumable upload's id: 1-128 printable characters."""
    if not value or len(value) > MAX_UPLOAD_ID_CHARS or not value.isprintable():
        raise InvalidArgument(f"upload_id must be 1-{MAX_UPLOAD_ID_CHARS} printable characters", field="upload_id")
    return value


def digest(text: str, field: str = "digest") -> bytes:
    """32 raw bytes from 64 lowercase hex characters (a BLAKE3 digest)."""
    if not isinstance(text, str) or len(text) != 64 or text != text.lower():
        raise InvalidArgument(f"{field} must be 64 lowercase hex characters (BLAKE3)", field=field)
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise InvalidArgument(f"{field} is not hex", field=field) from None


def time_after(value: datetime | None) -> int:
    """A "created after" filter as µs since the epoch; any time before 1970 filters nothing out."""
    return max(to_micros(value), 0) if value is not None else 0


def time_before(value: datetime | None) -> int:
    """A "created before" filter as µs since the epoch (0 = none); before 1970 matches nothing."""
    if value is None:
        return 0
    return max(to_micros(value), 1)
