"""Where the servicers' blocking engine work runs: the execution model of the RPC layer, in one place.

Unary servicer methods are plain functions (decode, one engine call, encode); the interceptor runs
each through ``Execution.unary``. Streaming methods stay on the event loop and hand each blocking
step (a batch of upload bytes, a few download messages) to ``Execution.run``. The model is chosen
from measurements (bench/execution_model.py, docs/architecture.md):

* ``HYBRID`` (the default): point reads (``LOOP_READS``) on the loop, where a thread hop would cost
  more than the read; small writes that never fsync (``INLINE_WRITES``) on the loop too when they
  cannot wait (the store is embedded, its lock free, no hooks loaded: ``inline``), else on the pool,
  where the hop costs a write ~150-200 us of server CPU (bench/README.md, "The unary path");
  everything else (fsyncs, artifacts, listings, snapshots) on the pool, so a durable SaveSession
  never stalls the other clients.
* ``THREAD``: every unary call on the pool (a read pays the hop: p50 +14% on the 2-core box).
* ``LOOP``: every unary call on the event loop (one slow call stalls every client).
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, TypeVar

T = TypeVar("T")
# Reads of one record by key: tens of microseconds, less than a thread hop costs. (QueryUploadStatus is
# one too, written as a coroutine: it may await a broken upload stream's clean-up.)
LOOP_READS = frozenset({"GetSession", "GetSessionState", "GetArtifact", "GetCapabilities"})
# Writes of one session record, its state and events: never an fsync, no artifact bytes (no LZ4, no
# blob append); with a request of at most INLINE_MAX_BYTES, tens of microseconds, like a point read.
INLINE_WRITES = frozenset(
    {
        "CreateSession",
        "UpdateSession",
        "SetSessionState",
        "ApplyChanges",
        "AppendEvents",
        "SuspendSession",
        "ResumeSession",
        "CompleteSession",
        "FailSession",
    }
)
INLINE_MAX_BYTES = 64 * 1024  # a larger request (big state values, 1000 events) takes the pool
Inline = Callable[[], AbstractContextManager[object] | None]
"""A transaction begun for running a small write on the calling thread now, or None (wait on the pool)."""


class Model(enum.Enum):
    """Where unary engine calls run."""

    HYBRID = "hybrid"
    THREAD = "thread"
    LOOP = "loop"


class Execution:
    """The one worker pool and the rule saying which calls use it."""

    def __init__(self, model: Model = Model.HYBRID, workers: int = 0) -> None:
        self.model = model
        self._inline: Inline | None = None  # set by bind_inline: until then INLINE_WRITES use the pool
        # Enough threads that a few fsyncs in flight leave room for reads; the GIL bounds the rest.
        self._pool = ThreadPoolExecutor(
            max_workers=workers or min(16, (os.cpu_count() or 1) + 4), thread_name_prefix="rpc"
        )

    def on_loop(self, method: str) -> bool:
        """Whether the unary method ``/pkg.Service/Name`` runs on the event loop under this model."""
        if self.model is Model.LOOP:
            return True
        return self.model is Model.HYBRID and method.rsplit("/", 1)[-1] in LOOP_READS

    def inlines(self, method: str) -> bool:
        """Whether the unary method runs on the event loop when ``inline`` gives a transaction."""
        return self.model is Model.HYBRID and self._inline is not None and method.rsplit("/", 1)[-1] in INLINE_WRITES

    def bind_inline(self, inline: Inline) -> None:
        """Sets the gate of INLINE_WRITES (the server's engine), before the services are registered."""
        self._inline = inline

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(*args, **kwargs) on the pool, with the caller's context variables (current_caller) visible."""
        context = contextvars.copy_context()
        call = functools.partial(context.run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def unary(self, method: str, behavior: Callable[..., Any]) -> Callable[..., Any]:
        """An async callable for a plain (blocking) unary behaviour, running where the model says."""
        if self.on_loop(method):

            async def on_loop(request: Any, context: Any) -> Any:
                return behavior(request, context)

            return on_loop
        if self.inlines(method):
            inline = self._inline
            assert inline is not None

            async def inline_or_pool(request: Any, context: Any) -> Any:
                held = inline() if request.ByteSize() <= INLINE_MAX_BYTES else None
                if held is None:
                    return await self.run(behavior, request, context)
                with held:
                    return behavior(request, context)

            return inline_or_pool

        async def on_pool(request: Any, context: Any) -> Any:
            return await self.run(behavior, request, context)

        return on_pool

    def close(self) -> None:
        """Lets running calls finish, then ends the pool's threads."""
        self._pool.shutdown(wait=True)
