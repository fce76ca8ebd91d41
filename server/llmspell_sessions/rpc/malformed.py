"""Requests whose bytes do not parse: a clean INVALID_ARGUMENT and a rate-limited INFO line, not a traceback.

grpc.aio deserializes a request with the generated ``FromString`` before any handler runs, and logs
an ERROR with a traceback when that raises. Anyone can send such bytes (no token is needed to reach
the parser), so ``checked_deserializer`` never raises: it hands the handler a ``Malformed`` in place
of the request, and the interceptor answers it with InvalidArgument.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from ..errors import InvalidArgument

log = logging.getLogger(__name__)
LOG_EVERY_SECONDS = 10.0


class Malformed:
    """Stands in for a request that failed to parse; says why."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def error(self) -> InvalidArgument:
        return InvalidArgument(f"the request does not parse: {self.reason}", field="request")


class RateLimitedLog:
    """Counts malformed requests and logs at most one INFO line per period with the count."""

    def __init__(self, period: float = LOG_EVERY_SECONDS, logger: logging.Logger = log) -> None:
        self._period, self._log = period, logger
        self._lock = threading.Lock()  # deserializers may run on grpc's threads
        self._count, self._next = 0, 0.0

    def record(self, method: str, reason: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._count += 1
            if now < self._next:
                return
            count, self._count, self._next = self._count, 0, now + self._period
        self._log.info("%d malformed request(s) in the last %.0fs; latest %s: %s", count, self._period, method, reason)


def checked_deserializer(
    deserialize: Callable[[bytes], Any] | None, method: str, malformed_log: RateLimitedLog
) -> Callable[[bytes], Any] | None:
    """deserialize, returning a Malformed instead of raising."""
    if deserialize is None:
        return None

    def checked(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as exc:  # noqa: BLE001 - DecodeError, RecursionError, UnicodeDecodeError alike
            reason = f"{type(exc).__name__}: {exc}"[:200]
            malformed_log.record(method, reason)
            return Malformed(reason)

    return checked


def refuse_malformed(request: Any) -> None:
    """Raises InvalidArgument when the request did not parse."""
    if isinstance(request, Malformed):
        raise request.error()


async def checked_stream(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    """The request stream, raising InvalidArgument at the first message that did not parse."""
    async for request in requests:
        refuse_malformed(request)
        yield request
