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
import functools
import gc
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
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
    other_cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds of other processes (PostgreSQL, ...)

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds

    def server_busy(self) -> float:
        """The driven server's CPU over the wall time (1.0 = one core all the time)."""
        return self.server_cpu / self.seconds

    def client_busy(self) -> float:
        return self.client_cpu / self.seconds


Worker = Callable[[dict[str, list[float]]], Awaitable[int]]
CpuMeter = Callable[[], float]  # CPU seconds spent so far by a process (or a process tree)


async def timed_phase(
    workers: Sequence[Worker], server: int | CpuMeter, others: Mapping[str, CpuMeter] | None = None
) -> Phase:
    """Runs the workers concurrently; each appends its samples and returns how many operations it made.

    ``server`` is the driven server's pid, or a meter of its CPU (a process tree, for ``serve --workers``);
    ``others`` meter processes whose CPU the phase also reports (``Phase.other_cpu``). The wall time runs
    from the start of all the workers to the end of the last, so a straggler counts.
    """
    meter: CpuMeter = server if callable(server) else functools.partial(cpu_seconds, server)
    meters = dict(others or {})
    phase = Phase()
    gc.collect()
    cpu, process_cpu = meter(), time.process_time()
    before = {name: read() for name, read in meters.items()}
    started = time.perf_counter()
    counts = await asyncio.gather(*(worker(phase.samples) for worker in workers))
    phase.seconds = time.perf_counter() - started
    phase.server_cpu = meter() - cpu
    phase.client_cpu = time.process_time() - process_cpu
    phase.other_cpu = {name: read() - before[name] for name, read in meters.items()}
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
    (what a worker's count counts: an operation, an agent run); also for each metered other process."""
    wall, done = sum(p.seconds for p in phases), sum(p.ops for p in phases)
    used = {"server": sum(p.server_cpu for p in phases), "load_generator": sum(p.client_cpu for p in phases)}
    for name in phases[0].other_cpu if phases else ():
        used[name] = sum(p.other_cpu[name] for p in phases)
    return {
        **{f"{name}_cores_busy": round(cpu / wall, 3) for name, cpu in used.items()},
        **{f"{name}_cpu_us_per_{unit}": round(cpu / done * 1e6, 1) for name, cpu in used.items()},
    }


def channel_options() -> list[tuple[str, Any]]:
    """The client's own channel options, for the echo channels too (parity)."""
    from llmspell_sessions.client.channel import ConnectionOptions

    return ConnectionOptions().channel_options()
