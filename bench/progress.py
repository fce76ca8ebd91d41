"""The progress display on stderr: one status line, rewritten in place on a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Shows which scenario and step is running, and the time since the run started.

    On a terminal the line is rewritten in place; otherwise (CI logs, pipes) each scenario start
    and every ``log_every``-th step is printed on its own line so that logs stay short.
    """

    def __init__(self, total: int, stream: TextIO | None = None, log_every: int = 10) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.total = total
        self.index = 0
        self.scenario = ""
        self.started = time.monotonic()
        self.steps = 0
        self.log_every = log_every

    def begin(self, scenario: str) -> None:
        """Marks the start of the next scenario."""
        self.index += 1
        self.scenario = scenario
        self._show("starting", force=True)

    def step(self, message: str) -> None:
        """Updates the current step of the scenario."""
        self.steps += 1
        self._show(message, force=self.steps % self.log_every == 0)

    def note(self, message: str) -> None:
        """Prints a line that stays (warnings, errors, where a file was written)."""
        if self.tty:
            self.stream.write("\r\x1b[K")
        self.stream.write(f"{message}\n")
        self.stream.flush()

    def done(self) -> None:
        """Ends the status line."""
        if self.tty:
            self.stream.write("\r\x1b[K")
        self.stream.write(f"bench: finished in {time.monotonic() - self.started:.0f} s\n")
        self.stream.flush()

    def _show(self, message: str, *, force: bool) -> None:
        line = f"[{self.index}/{self.total} {self.scenario} {time.monotonic() - self.started:5.0f}s] {message}"
        if self.tty:
            self.stream.write("\r\x1b[K" + line[:150])
        elif force:
            self.stream.write(line + "\n")
        else:
            return
        self.stream.flush()
