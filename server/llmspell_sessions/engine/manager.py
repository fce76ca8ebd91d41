"""SessionManager: the engine, usable in-process; the gRPC server runs the same object."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from ..config import SessionManagerConfig, load_config
from ..storage import Storage
from .hooks import HookRunner, load_hooks
from .replay import ReplayOps
from .timeouts import Sweeper

COLLECTION_INTERVAL = 60.0


class SessionManager(ReplayOps):
    """Sessions, state, artifacts and history over one store; every rule of the service lives here.

    Use it as a context manager (or call close()) so the store is closed and the sweeper stopped.
    """

    def __init__(
        self,
        config: SessionManagerConfig | None = None,
        *,
        storage: Storage | None = None,
        hooks: list[Any] | None = None,
        start_sweeper: bool = True,
        **overrides: Any,
    ) -> None:
        if config is None:
            config = load_config(overrides=overrides)[0]
        elif overrides:
            raise TypeError("pass either a config or keyword overrides, not both")
        runner = HookRunner([*load_hooks(config.hooks), *(hooks or [])])
        super().__init__(config, storage, runner)
        self._sweeper: Sweeper | None = None
        self._last_collection = time.monotonic()
        if start_sweeper:
            self._sweeper = Sweeper(self.maintain, config.sweep_interval)
            self._sweeper.start()

    def maintain(self) -> int:
        """One background pass: due timeouts every time; expired uploads and chunk GC every minute."""
        changed = self.sweep_timeouts()
        if time.monotonic() - self._last_collection >= COLLECTION_INTERVAL:
            self._last_collection = time.monotonic()
            self.expire_uploads()
            self.collect_garbage()
            self.compact_segments()
        return changed

    def close(self) -> None:
        """Stops the sweeper and closes the store (idempotent)."""
        if self._sweeper is not None:
            self._sweeper.stop()
            self._sweeper = None
        with self.lock:
            self.storage.close()
            self.content.blobs.close()

    def __enter__(self) -> SessionManager:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
