"""SessionManager: the engine, usable in-process; the gRPC server runs the same object."""

from __future__ import annotations

from types import TracebackType
from typing import Any

from ..config import SessionManagerConfig, load_config
from ..storage import Storage
from .hooks import HookRunner, load_hooks
from .replay import ReplayOps
from .timeouts import Sweeper


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
        if start_sweeper and (config.idle_timeout or config.session_timeout):
            self._sweeper = Sweeper(self.sweep_timeouts, config.sweep_interval)
            self._sweeper.start()

    def close(self) -> None:
        """Stops the sweeper and closes the store (idempotent)."""
        if self._sweeper is not None:
            self._sweeper.stop()
            self._sweeper = None
        with self.lock:
            self.storage.close()

    def __enter__(self) -> SessionManager:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
