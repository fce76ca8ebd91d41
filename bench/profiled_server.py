"""A server module run with a cProfile window: SIGUSR1 opens it, SIGUSR2 closes it and writes the profile.

Usage: ``python bench/profiled_server.py OUT.prof MODULE [ARGS...]``, for example
``... out.prof llmspell_sessions serve --address 127.0.0.1:0`` or ``... out.prof bench.echo_server``.
Only the window is profiled, so start-up, warm-up and shutdown stay out of the shares. The event
loop, servicers and engine run on the main thread, which is the thread the signal handlers (and so
cProfile) run on.
"""

from __future__ import annotations

import cProfile
import runpy
import signal
import sys
from types import FrameType

profiler = cProfile.Profile()
output = sys.argv[1] if len(sys.argv) > 1 else "server.prof"


def open_window(signum: int, frame: FrameType | None) -> None:
    profiler.enable()


def close_window(signum: int, frame: FrameType | None) -> None:
    profiler.disable()
    profiler.dump_stats(output)


if __name__ == "__main__":
    signal.signal(signal.SIGUSR1, open_window)
    signal.signal(signal.SIGUSR2, close_window)
    module = sys.argv[2]
    sys.argv = [module, *sys.argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
