"""Built-in policies: token-bucket rate limits per tenant (every request) and per session (mutations)."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

from ..errors import RateLimited

BURST = 1.5
_MAX_BUCKETS = 100_000


class RateLimiter:
    """Token buckets refilled at per_minute/60 tokens a second; a bucket holds 1.5× per_minute, so a
    client that was quiet may burst that many requests at once, then gets the steady rate."""

    def __init__(self, per_minute: float, scope: str) -> None:
        self.rate = per_minute / 60.0
        self.capacity = per_minute * BURST
        self.scope = scope
        self._buckets: OrderedDict[object, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, key: object, **context: str) -> None:
        """Spends one token of key's bucket, or raises RateLimited with the wait until the next one."""
        if not self.enabled:
            return
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
                raise RateLimited(
                    f"{self.scope} rate limit exceeded; retry in {wait:.2f} s",
                    retry_delay=wait,
                    limit=self.scope,
                    **context,
                )
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > _MAX_BUCKETS:  # forget the least recently used (they are full again)
                self._buckets.popitem(last=False)
