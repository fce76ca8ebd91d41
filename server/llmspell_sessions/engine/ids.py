"""Identifiers: UUIDv7 (RFC 9562), time-ordered and monotonic within this process."""

from __future__ import annotations

import itertools
import os
import re
import threading
import time

_UUID_TEXT = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_lock = threading.Lock()
_last = [0, 0]  # [unix ms, 12-bit counter]: keeps ids increasing within one millisecond


def uuid7() -> str:
    """A new UUIDv7 as lowercase text; later calls in this process sort after earlier ones."""
    ms = time.time_ns() // 1_000_000
    with _lock:
        if ms <= _last[0]:
            ms = _last[0]
            _last[1] += 1
            if _last[1] > 0xFFF:
                ms += 1
                _last[1] = 0
        else:
            _last[1] = int.from_bytes(os.urandom(2), "big") & 0x3FF
        _last[0] = ms
        counter = _last[1]
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    h = f"{(ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_PROCESS_TAG = os.urandom(6).hex()
_sequence = itertools.count(1)


def local_id() -> str:
    """A cheap id unique within this process and unlikely to repeat across processes (correlation ids)."""
    return f"{_PROCESS_TAG}-{next(_sequence):x}"


def is_uuid_text(text: str) -> bool:
    """True for canonical lowercase UUID text (36 characters)."""
    return len(text) == 36 and _UUID_TEXT.match(text) is not None
