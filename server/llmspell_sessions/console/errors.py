"""The one mapping of the engine's errors to HTTP: status, headers and a JSON body {code, reason, message}."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

import orjson
from aiohttp import web

from ..errors import InternalError, LlmspellError, NotFoundError

log = logging.getLogger(__name__)

# gRPC code -> HTTP status, as grpc-gateway maps them (google.rpc.Code's own HTTP mapping).
HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}


class ReplayNotFound(NotFoundError):
    """No replay with this id is running for the caller."""

    reason = "REPLAY_NOT_FOUND"


class RouteNotFound(NotFoundError):
    """No console API call by this name."""

    reason = "NOT_FOUND"


class Refused(Exception):
    """A request the console refuses before any engine call (wrong Host, no CSRF header): status + message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def as_llmspell_error(error: Exception, where: str) -> LlmspellError:
    """error itself when it is one of ours; anything else is logged and becomes InternalError."""
    if isinstance(error, LlmspellError):
        return error
    log.error("unexpected error in console call %s", where, exc_info=error)
    return InternalError(f"internal error in {where}")


def error_body(error: LlmspellError) -> dict[str, object]:
    """The JSON an error becomes (also the last line of an NDJSON stream that fails midway)."""
    return {"code": error.code, "reason": error.reason, "message": error.message, "metadata": error.metadata}


def error_response(error: Exception, where: str) -> web.Response:
    """The HTTP answer to a failed call."""
    if isinstance(error, Refused):
        body = {"code": "PERMISSION_DENIED", "reason": error.reason, "message": error.message, "metadata": {}}
        return _json(error.status, body, {})
    mapped = as_llmspell_error(error, where)
    headers = {}
    if mapped.retry_delay is not None:
        headers["Retry-After"] = str(max(1, math.ceil(mapped.retry_delay)))
    return _json(HTTP_STATUS.get(mapped.code, 500), error_body(mapped), headers)


def _json(status: int, body: Mapping[str, object], headers: dict[str, str]) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(body), content_type="application/json", headers=headers)
