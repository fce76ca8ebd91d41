"""What the load scenarios share (``concurrency``, ``agent-mix``): the real server and the bare echo
started side by side and pinned, and timed phases of many asyncio clients with the CPU each side spent.

The real server runs with ``UNLIMITED_SERVER_ENV`` (rate limits off, session and artifact limits out of
reach, no timeouts) and ``--no-access-log``; the echo is ``bench/echo_server.py``. As in the artifact
scenarios (``bench/transfer.py``), on two cores or more both servers are pinned to the last core and this
process (the load generator: one asyncio loop, grpc.aio's own threads) to the others; only one of the two
servers is busy at a time because the phases alternate. ``LLMSPELL_BENCH_PIN=0`` turns pinning off.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .framework import Context
from .processes import UNLIMITED_SERVER_ENV, ServerProcess, running, session_server_args
from .scenarios.grpc_unary import cpu_seconds
from .transfer import pin, pinned_self, pinning

BENCH_DIR = Path(__file__).resolve().parent


@dataclass
class LoadServers:
    """The real server and the echo, started (and pinned when the machine allows)."""

    session: ServerProcess
    echo: ServerProcess
    pinned: str

    def info(self) -> dict[str, Any]:
        return {
            "pinning": self.pinned,
            "backend": "rocksdb",
            "server": "llmspell-sessions serve --no-access-log, rate limits off",
            "ceiling_server": "bench/echo_server.py (grpc.aio generic unary, returns the request bytes)",
            "client": "AsyncSessionClient, one channel per client; echo: one grpc.aio channel per client",
        }


@contextmanager
def load_servers(ctx: Context, name: str) -> Iterator[LoadServers]:
    """Starts the real server and the echo, pins them and this process; stops everything on exit."""
    cwd = ctx.tempdir(name)
    plan = pinning()
    with ExitStack() as stack:
        real = stack.enter_context(
            running(session_server_args(cwd / "store", access_log=False), UNLIMITED_SERVER_ENV, cwd)
        )
        echo = stack.enter_context(running([str(BENCH_DIR / "echo_server.py")], {}, cwd))
        if plan:
            for server in (real, echo):
                pin(server.proc.pid, plan[1])
        stack.enter_context(pinned_self(plan[0] if plan else None))
        described = f"load generator on cores {sorted(plan[0])}, servers on {sorted(plan[1])}" if plan else "off"
        ctx.progress.step(f"session server {real.address}, echo {echo.address} ({'pinned' if plan else 'not pinned'})")
        yield LoadServers(real, echo, described)


@dataclass
class Phase:
    """One timed phase: wall time, operations done, latency samples (ns) by operation, CPU of each side."""

    seconds: float = 0.0
    ops: int = 0
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    server_cpu: float = 0.0  # CPU seconds of the server that was driven
    client_cpu: float = 0.0  # CPU seconds of this process (the load generator, all its threads)

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds

    def server_busy(self) -> float:
        """The driven server's CPU over the wall time (1.0 = one core all the time)."""
        return self.server_cpu / self.seconds

    def client_busy(self) -> float:
        return self.client_cpu / self.seconds


Worker = Callable[[dict[str, list[float]]], Awaitable[int]]


async def timed_phase(workers: Sequence[Worker], server_pid: int) -> Phase:
    """Runs the workers concurrently; each appends its samples and returns how many operations it made.

    The wall time runs from the start of all of them to the end of the last, so a straggler counts.
    """
    phase = Phase()
    gc.collect()
    cpu, process_cpu = cpu_seconds(server_pid), time.process_time()
    started = time.perf_counter()
    counts = await asyncio.gather(*(worker(phase.samples) for worker in workers))
    phase.seconds = time.perf_counter() - started
    phase.server_cpu = cpu_seconds(server_pid) - cpu
    phase.client_cpu = time.process_time() - process_cpu
    phase.ops = sum(counts)
    return phase


def merge(phases: Sequence[Phase]) -> dict[str, list[float]]:
    """Every phase's samples, by operation."""
    merged: dict[str, list[float]] = defaultdict(list)
    for phase in phases:
        for name, values in phase.samples.items():
            merged[name] += values
    return merged


def busy(phases: Sequence[Phase], unit: str = "op") -> dict[str, float]:
    """CPU use over all the phases, in cores (1.0 = one core all the time), and per unit of work
    (what a worker's count counts: an operation, an agent run)."""
    wall, done = sum(p.seconds for p in phases), sum(p.ops for p in phases)
    server, client = sum(p.server_cpu for p in phases), sum(p.client_cpu for p in phases)
    return {
        "server_cores_busy": round(server / wall, 3),
        "load_generator_cores_busy": round(client / wall, 3),
        f"server_cpu_us_per_{unit}": round(server / done * 1e6, 1),
        f"load_generator_cpu_us_per_{unit}": round(client / done * 1e6, 1),
    }


def channel_options() -> list[tuple[str, Any]]:
    """The client's own channel options, for the echo channels too (parity)."""
    from llmspell_sessions.client.channel import ConnectionOptions

    return ConnectionOptions().channel_options()
