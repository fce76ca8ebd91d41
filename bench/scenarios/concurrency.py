"""Session calls from 1, 4, 16 and 64 concurrent clients (quick: 1, 8, 64), beside the bare echo driven alike.

One real server (RocksDB, ``--no-access-log``, rate limits off) and the bare grpc.aio echo
(``bench/echo_server.py``), each in its own subprocess, pinned to the last core (``bench/load.py``).
At each level N this process runs N asyncio clients, each an ``AsyncSessionClient`` on its own channel
(its own HTTP/2 connection) looping over the mix CreateSession, GetSession, SetSessionState, GetSession,
SetSessionState (20% creates, 40% reads, 40% state writes of one small key) on sessions of its own,
for a fixed time per phase. The ceiling is N echo clients, one grpc.aio channel each, looping over
the same mix of message sizes (each the larger of that RPC's request and response, as in ``grpc``),
for the same time. Service and echo phases alternate in rounds (A/B, then B/A). Figures per level:
total ops/s (p50 of the rounds; ratio = service / echo) and the latency of every RPC of the mix next
to every echo call at the same level; each RPC's own p50/p99 and its echo's are in info (``per_rpc``).
The CPU of the driven server and of the load generator per phase is in info: it says which side
saturates.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from typing import Any

from google.protobuf import struct_pb2

from ..echo_server import METHOD
from ..framework import LATENCY, VALUE, Context, Figure, Summary, Target, cdfs
from ..load import LoadServers, Phase, Worker, busy, channel_options, load_servers, merge, timed_phase

NAME = "concurrency"
ORDER = 32
MIX = ("CreateSession", "GetSession", "SetSessionState", "GetSession", "SetSessionState")
CALLS = tuple(dict.fromkeys(MIX))
OWN_SESSIONS = 4  # sessions each client reads and writes (it made them before the measurement)
CEILING = "grpc echo"
TARGET = Target.at_least_times(0.5, "echo ops/s")
Op = Callable[[], Awaitable[object]]


def levels(ctx: Context) -> tuple[int, ...]:
    return (1, 8, 64) if ctx.quick else (1, 4, 16, 64)


def clients_label(count: int) -> str:
    return f"{count} client" + ("s" if count > 1 else "")


def worker(ops: dict[str, Op], deadline: list[float], offset: int) -> Worker:
    """One client: the mix in order, from ``offset`` in it, until the deadline; the operations it completed.

    Clients start at different places in the mix, so that they do not all make the same RPC at once.
    """
    clock = time.perf_counter_ns
    order = MIX[offset % len(MIX) :] + MIX[: offset % len(MIX)]

    async def loop(samples: dict[str, list[float]]) -> int:
        done = 0
        for name in itertools.cycle(order):
            if time.perf_counter() >= deadline[0]:
                break
            op = ops[name]
            start = clock()
            await op()
            samples[name].append(clock() - start)
            done += 1
        return done

    return loop


def session_ops(client: Any, sessions: list[str]) -> dict[str, Op]:
    """The mix's RPCs for one ``AsyncSessionClient``, reading and writing its own sessions in turn."""
    ids, steps = itertools.cycle(sessions), itertools.count()
    return {
        "CreateSession": lambda: client.create_session(name="bench"),
        "GetSession": lambda: client.get_session(next(ids)),
        "SetSessionState": lambda: client.set_session_state(next(ids), {"step": next(steps)}),
    }


async def own_sessions(clients: list[Any]) -> list[list[str]]:
    """``OWN_SESSIONS`` new sessions per client (made before the measurement)."""
    return await asyncio.gather(
        *(asyncio.gather(*(c.create_session(name="bench") for _ in range(OWN_SESSIONS))) for c in clients)
    )


async def probe_sizes(client: Any, sid: str) -> dict[str, int]:
    """The larger of request and response bytes of each RPC of the mix (the echo's message size)."""
    from llmspell_sessions._pb import session_pb2

    stub = client.stub("session")
    state = session_pb2.SetSessionStateRequest(session_id=sid, entries={"step": struct_pb2.Value(number_value=1)})
    requests = {
        "CreateSession": session_pb2.CreateSessionRequest(name="bench"),
        "GetSession": session_pb2.GetSessionRequest(session_id=sid),
        "SetSessionState": state,
    }
    sizes = {}
    for name, request in requests.items():
        response = await getattr(stub, name)(request, timeout=30)
        sizes[name] = max(request.ByteSize(), response.ByteSize())
    return sizes


async def measure_level(ctx: Context, up: LoadServers, count: int) -> None:
    """N clients of each kind; rounds of a service phase and an echo phase, in alternating order."""
    import grpc
    from llmspell_sessions.client import AsyncSessionClient

    seconds, rounds = (0.4 if ctx.quick else 1.0), ctx.count(6, 3)
    clients = [AsyncSessionClient(up.session.address, timeout=60) for _ in range(count)]
    channels = [grpc.aio.insecure_channel(up.echo.address, options=channel_options()) for _ in range(count)]
    try:
        owned = await own_sessions(clients)
        sizes = await probe_sizes(clients[0], owned[0][0])
        payloads = {name: b"\x00" * size for name, size in sizes.items()}
        deadline = [0.0]
        service: list[Worker] = []
        echo: list[Worker] = []
        for index, (client, sessions, channel) in enumerate(zip(clients, owned, channels, strict=True)):
            call = channel.unary_unary(METHOD)
            service.append(worker(session_ops(client, sessions), deadline, index))
            echo_ops = {name: (lambda p=payloads[name], f=call: f(p, timeout=60)) for name in CALLS}
            echo.append(worker(echo_ops, deadline, index))
        kinds = {"service": (service, up.session.proc.pid), "echo": (echo, up.echo.proc.pid)}
        for workers, pid in kinds.values():  # warm-up: connections, caches, code paths
            deadline[0] = time.perf_counter() + min(0.2, seconds)
            await timed_phase(workers, pid)
        phases: dict[str, list[Phase]] = {"service": [], "echo": []}
        for number in range(rounds):
            ctx.progress.step(f"{clients_label(count)}: round {number + 1}/{rounds}")
            for kind in ("service", "echo") if number % 2 == 0 else ("echo", "service"):
                workers, pid = kinds[kind]
                deadline[0] = time.perf_counter() + seconds
                phases[kind].append(await timed_phase(workers, pid))
        record(ctx, up, count, phases, sizes, seconds)
    finally:
        await asyncio.gather(*(c.close() for c in clients), *(ch.close() for ch in channels))


def record(
    ctx: Context, up: LoadServers, count: int, phases: dict[str, list[Phase]], sizes: dict[str, int], seconds: float
) -> None:
    variant = clients_label(count)
    mine, theirs = phases["service"], phases["echo"]
    samples, echo_samples = merge(mine), merge(theirs)
    every = [v for values in samples.values() for v in values]
    every_echo = [v for values in echo_samples.values() for v in values]
    info: dict[str, Any] = {
        **up.info(),
        "clients": count,
        "mix": list(MIX),
        "echo_bytes": sizes,
        "phase_seconds": seconds,
        "rounds": len(mine),
        "ops_per_round": [p.ops for p in mine],
        "ceiling_ops_per_round": [p.ops for p in theirs],
        "service": busy(mine),
        "echo": busy(theirs),
    }
    ctx.record(
        Figure(
            NAME,
            "session mix ops/s",
            variant,
            VALUE,
            Summary.of([p.ops_per_s for p in mine]),
            ceiling_name="grpc echo ops/s",
            ceiling=Summary.of([p.ops_per_s for p in theirs]),
            target=TARGET,
            interleaved=True,
            unit=" ops/s",
            info=info,
        )
    )
    per_rpc = {
        name: {
            "p50_ns": Summary.of(samples[name]).p50,
            "p99_ns": Summary.of(samples[name]).p99,
            "echo_p50_ns": Summary.of(echo_samples[name]).p50,
            "echo_p99_ns": Summary.of(echo_samples[name]).p99,
            "samples": len(samples[name]),
        }
        for name in CALLS
    }
    ctx.record(
        Figure(
            NAME,
            "session mix, per RPC",
            variant,
            LATENCY,
            Summary.of(every),
            ceiling_name=CEILING,
            ceiling=Summary.of(every_echo),
            interleaved=True,
            info={"clients": count, "echo_bytes": sizes, "per_rpc": per_rpc},
            cdf=cdfs(every, every_echo),
        )
    )


def run(ctx: Context) -> None:
    """Both servers once; the levels in turn, each with its own clients."""
    with load_servers(ctx, NAME) as up:
        for count in levels(ctx):
            asyncio.run(measure_level(ctx, up, count))
