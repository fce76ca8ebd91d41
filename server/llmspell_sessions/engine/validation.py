"""Input validation shared by every face of the engine; each failure names the field."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from ..errors import InvalidArgument
from .ids import is_uuid_text

MAX_NAME_BYTES = 255
MAX_DESCRIPTION_BYTES = 16 * 1024
MAX_TAGS = 64
MAX_TAG_CHARS = 64
MAX_METADATA_BYTES = 64 * 1024
MAX_STATE_KEY_BYTES = 256
MAX_STATE_VALUE_BYTES = 4 * 1024 * 1024
MAX_REQUEST_ID_CHARS = 128
MAX_PAGE_SIZE = 1000
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
    if depth > 64:
        raise InvalidArgument(f"{field} nests deeper than 64 levels", field=field)
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidArgument(f"{field} holds a NaN or infinite number", field=field)
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
