"""What the artifact scenarios share: the servers (real one + bare sink/source), core pinning, the
timed operations (upload, verified download, sink, source) and turning ns samples into MiB/s figures.

The real server runs with ``ARTIFACT_SERVER_ENV`` (every limit out of the way, rate limits off). On a
machine with two cores or more the servers are pinned to the last core and this process (the load
generator) to the others, so that client and server do not steal each other's core; set
``LLMSPELL_BENCH_PIN=0`` to let the scheduler place them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from blake3 import blake3

from .framework import THROUGHPUT, Contender, Context, Figure, Summary, Target
from .processes import ServerProcess, running, session_server_args
from .sink_server import SINK, SOURCE

MIB = 1 << 20
KIB = 1 << 10
MESSAGE_BYTES = MIB
BENCH_DIR = Path(__file__).resolve().parent
ARTIFACT_SERVER_ENV = {
    "LLMSPELL_SESSION_MAX_SESSIONS": "1000000",
    "LLMSPELL_SESSION_RATE_LIMIT_GLOBAL": "0",
    "LLMSPELL_SESSION_RATE_LIMIT_PER_SESSION": "0",
    "LLMSPELL_SESSION_MAX_ARTIFACTS_PER_SESSION": "100000",
    "LLMSPELL_SESSION_MAX_SESSION_BYTES": str(1 << 40),
}
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 16 * MIB),
    ("grpc.max_send_message_length", 16 * MIB),
]


def size_label(size: int) -> str:
    return f"{size // MIB} MiB" if size >= MIB else f"{size // KIB} KiB"


def upload_sizes(ctx: Context) -> list[int]:
    """10 KiB, 1 MiB, 16 MiB, and 100 MiB in the full run."""
    sizes = [10 * KIB, MIB, 16 * MIB]
    return sizes if ctx.quick else [*sizes, 100 * MIB]


def samples_for(ctx: Context, size: int) -> int:
    """Fewer samples for bigger transfers: each run of a size takes a few seconds at most."""
    if size <= 64 * KIB:
        return ctx.count(200, 60)
    if size <= 2 * MIB:
        return ctx.count(60, 20)
    if size <= 32 * MIB:
        return ctx.count(16, 6)
    return ctx.count(6, 3)


# -- core pinning ---------------------------------------------------------------------------------


def pinning() -> tuple[set[int], set[int]] | None:
    """(load generator cores, server cores), or None when pinning is off or pointless."""
    cores = sorted(os.sched_getaffinity(0))
    if os.environ.get("LLMSPELL_BENCH_PIN", "1") == "0" or len(cores) < 2:
        return None
    return set(cores[:-1]), {cores[-1]}


def pin(pid: int, cpus: set[int]) -> None:
    """Pins every thread of a process (threads made later inherit it from their creator)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), cpus)
        except (ProcessLookupError, PermissionError):
            pass


@contextmanager
def pinned_self(cpus: set[int] | None) -> Iterator[None]:
    """Pins this process (all its threads) for the block, then restores the affinity it had."""
    before = os.sched_getaffinity(0)
    if cpus:
        pin(os.getpid(), cpus)
    try:
        yield
    finally:
        if cpus:
            pin(os.getpid(), before)


@dataclass
class Servers:
    """The real server and/or the bare sink, started and pinned."""

    session: ServerProcess | None
    sink: ServerProcess | None
    pinned: str

    def info(self) -> dict[str, Any]:
        return {
            "pinning": self.pinned,
            "message_bytes": MESSAGE_BYTES,
            "backend": "rocksdb",
            "client": "SessionClient (blocking)",
            "ceiling_server": "bench/sink_server.py (grpc.aio generic)",
        }


@contextmanager
def servers(ctx: Context, name: str, *, session: bool = True, sink: bool = True) -> Iterator[Servers]:
    """Starts the servers asked for, pins them and this process; stops everything on exit."""
    cwd = ctx.tempdir(name)
    plan = pinning()
    with ExitStack() as stack:
        real = (
            stack.enter_context(running(session_server_args(cwd / "store"), ARTIFACT_SERVER_ENV, cwd))
            if session
            else None
        )
        bare = stack.enter_context(running([str(BENCH_DIR / "sink_server.py")], {}, cwd)) if sink else None
        if plan:
            for server in (real, bare):
                if server is not None:
                    pin(server.proc.pid, plan[1])
        stack.enter_context(pinned_self(plan[0] if plan else None))
        described = f"load generator on cores {sorted(plan[0])}, servers on {sorted(plan[1])}" if plan else "off"
        ctx.progress.step(f"servers up ({'pinned' if plan else 'not pinned'})")
        yield Servers(real, bare, described)


# -- the timed operations ---------------------------------------------------------------------------


def pieces(data: bytes) -> Iterator[bytes]:
    """The data as 1 MiB messages."""
    for offset in range(0, len(data), MESSAGE_BYTES):
        yield data[offset : offset + MESSAGE_BYTES]


def verify_download(client: Any, artifact_id: str, digest: str, size: int) -> None:
    """Downloads an artifact, hashing every byte; AssertionError if anything differs."""
    artifact, stream = client.download_artifact(artifact_id)
    hasher, got = blake3(), 0
    for data in stream:
        hasher.update(data)
        got += len(data)
    if got != size or hasher.hexdigest() != digest or artifact.content_digest != digest:
        raise AssertionError(f"download of {artifact_id}: {got} bytes, digest mismatch or wrong size")


class Bare:
    """The sink and source calls on one channel (raw bytes, no serializer)."""

    def __init__(self, address: str) -> None:
        self.channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
        self._sink = self.channel.stream_unary(SINK)
        self._source = self.channel.unary_stream(SOURCE)

    def sink(self, data: bytes) -> None:
        received = int.from_bytes(self._sink(pieces(data), timeout=300), "big")
        if received != len(data):
            raise AssertionError(f"sink received {received} of {len(data)} bytes")

    def source(self, size: int, hash_it: bool = True) -> None:
        """size bytes from the source; hashed with BLAKE3 like a verified download."""
        hasher, got = blake3(), 0
        for data in self._source(size.to_bytes(8, "big"), timeout=300):
            if hash_it:
                hasher.update(data)
            got += len(data)
        if got != size:
            raise AssertionError(f"source sent {got} of {size} bytes")

    def close(self) -> None:
        self.channel.close()


# -- figures --------------------------------------------------------------------------------------


def mib_per_s(size: int, samples_ns: Sequence[float]) -> Summary:
    return Summary.of([size / MIB / (ns / 1e9) for ns in samples_ns])


def record_throughput(
    ctx: Context,
    scenario: str,
    name: str,
    variant: str,
    size: int,
    raw: dict[str, list[float]],
    ceiling: str,
    target: Target | None,
    info: dict[str, Any],
) -> Figure:
    """A MiB/s figure per operation of ``size`` bytes, with its ceiling's MiB/s; p50 time in info."""
    return ctx.record(
        Figure(
            scenario,
            name,
            variant,
            THROUGHPUT,
            mib_per_s(size, raw[name]),
            ceiling_name=ceiling,
            ceiling=mib_per_s(size, raw[ceiling]) if ceiling in raw else None,
            target=target,
            interleaved=True,
            info={
                **info,
                "bytes": size,
                "op_p50_ns": Summary.of(raw[name]).p50,
                "ceiling_op_p50_ns": Summary.of(raw[ceiling]).p50 if ceiling in raw else None,
            },
        )
    )


def fresh(make: Callable[[], bytes]) -> tuple[Callable[[], object], Callable[[], bytes]]:
    """(setup, current): setup makes new data before each sample, current returns it."""
    holder: list[bytes] = [b""]

    def setup() -> None:
        holder[0] = b""  # let the last one go before making the next
        holder[0] = make()

    return setup, lambda: holder[0]


__all__ = ["Contender", "fresh"]
