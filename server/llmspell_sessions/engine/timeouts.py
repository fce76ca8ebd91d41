"""The background sweeper that applies idle and lifetime timeouts nobody accessed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..errors import Unavailable

log = logging.getLogger(__name__)


class Sweeper:
    """Calls sweep() every interval seconds on a daemon thread until stop()."""

    def __init__(self, sweep: Callable[[], int], interval: float) -> None:
        self._sweep = sweep
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="llmspell-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                changed = self._sweep()
                if changed:
                    log.info("timeouts applied to %d sessions", changed)
            except Unavailable as error:  # the backend is down (health says so): one line, not a traceback
                log.warning("timeout sweep skipped: %s", error.message)
            except Exception:  # keep sweeping: one bad record must not stop timeouts for everyone
                log.exception("timeout sweep failed")

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
