"""The archive RPCs' streams as files, for the engine's export_sessions(out) and import_sessions(src).

Export writes to a temporary file on a worker thread (access is checked and every session read before
the first part is sent, so an error is a status, not a cut stream), then sends it in parts. Import
hands the engine a file that pulls parts from the request stream as the engine reads it: the role is
checked before the first part is read.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

from ..errors import InvalidArgument

# A stream that stops sending (or a server stopping under it) must not hold a worker thread forever.
PART_TIMEOUT_SECONDS = 60.0


class PartReader(io.RawIOBase):
    """A read-only file over a stream of ArchivePart messages, read from a worker thread."""

    def __init__(self, parts: AsyncIterator[Any], loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._parts, self._loop = parts, loop
        self._pending = memoryview(b"")
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            if self._done:
                return 0
            waiting = asyncio.run_coroutine_threadsafe(_next(self._parts), self._loop)
            try:
                part = waiting.result(PART_TIMEOUT_SECONDS)
            except TimeoutError:
                waiting.cancel()
                raise InvalidArgument(f"no archive part for {PART_TIMEOUT_SECONDS} s: the stream stalled") from None
            if part is None:
                self._done = True
                return 0
            self._pending = memoryview(part.data)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


async def _next(parts: AsyncIterator[Any]) -> Any:
    return await anext(parts, None)
