"""Opaque page tokens (AIP-158): where the last page stopped, bound to the query that made it."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson

from ..errors import InvalidArgument


def query_fingerprint(query: Any) -> str:
    """A short hash of everything in a query except its paging fields."""
    return hashlib.blake2b(orjson.dumps(query, option=orjson.OPT_SORT_KEYS), digest_size=8).hexdigest()


def encode_token(last_key: bytes, total: int, fingerprint: str) -> str:
    body = orjson.dumps({"k": base64.b64encode(last_key).decode(), "t": total, "q": fingerprint})
    return base64.urlsafe_b64encode(body).decode().rstrip("=")


def decode_token(token: str, fingerprint: str) -> tuple[bytes, int]:
    """(last key, total) of a token made by the same query; InvalidArgument otherwise."""
    try:
        body = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        last_key, total, made_by = base64.b64decode(body["k"]), int(body["t"]), body["q"]
    except (ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise InvalidArgument("page_token is not a token this server issued", field="page_token") from exc
    if made_by != fingerprint:
        raise InvalidArgument("page_token belongs to a different query", field="page_token")
    return last_key, total
