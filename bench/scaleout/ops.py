"""Session ops/s (the ``concurrency`` mix) and agent runs/s (the ``agent-mix`` runs) on the three servers of
``cluster``, their phases interleaved in rounds (embedded, PG 1 worker, PG 2 workers; then the reverse).

The workloads are those scenarios' own functions, so the figures are comparable with theirs: each client
an ``AsyncSessionClient`` on its own channel (its own connection: with 2 workers the kernel spreads the
connections over them), the same mix of CreateSession / GetSession / SetSessionState on sessions of its
own, the same agent runs (the very same runs for the three servers within a round, new ones each round).
Ceiling: the embedded RocksDB server measured in the same rounds; each figure's info also has its ratio to
the 1-worker server and the CPU of the server's processes, PostgreSQL and SeaweedFS per operation.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from ..framework import LATENCY, VALUE, Context, Figure, Summary
from ..load import Phase, Worker, busy, merge, timed_phase
from ..scenarios import agent_mix, concurrency
from .cluster import EMBEDDED, PG1, SERVERS, Cluster


def levels(ctx: Context) -> tuple[int, ...]:
    return (8, 64) if ctx.quick else (1, 8, 64)


def orders(rounds: int) -> list[tuple[str, ...]]:
    """A/B/C, C/B/A, A/B/C, ...: the servers' phases in every round."""
    return [SERVERS if number % 2 == 0 else SERVERS[::-1] for number in range(rounds)]


async def session_level(ctx: Context, up: Cluster, count: int) -> dict[str, list[Phase]]:
    """``count`` clients per server looping over the concurrency mix; timed phases by server."""
    from llmspell_sessions.client import AsyncSessionClient

    seconds, rounds = (0.5 if ctx.quick else 1.0), ctx.count(4, 2)
    clients = {
        label: [AsyncSessionClient(up.servers[label].address, timeout=120) for _ in range(count)] for label in SERVERS
    }
    try:
        deadline = [0.0]
        workers: dict[str, list[Worker]] = {}
        for label, group in clients.items():
            owned = await concurrency.own_sessions(group)
            ops = [concurrency.session_ops(c, s) for c, s in zip(group, owned, strict=True)]
            workers[label] = [concurrency.worker(o, deadline, index) for index, o in enumerate(ops)]
        others = up.others()
        for label in SERVERS:  # warm-up: connections, caches, code paths
            deadline[0] = time.perf_counter() + 0.2
            await timed_phase(workers[label], up.meter(label))
        phases: dict[str, list[Phase]] = {label: [] for label in SERVERS}
        for number, order in enumerate(orders(rounds)):
            for label in order:
                ctx.progress.step(f"{concurrency.clients_label(count)}, round {number + 1}/{rounds}: {label}")
                deadline[0] = time.perf_counter() + seconds
                phases[label].append(await timed_phase(workers[label], up.meter(label), others))
        return phases
    finally:
        await asyncio.gather(*(c.close() for group in clients.values() for c in group))


async def agent_rounds(ctx: Context, up: Cluster) -> tuple[dict[str, list[Phase]], int]:
    """``agent_mix.AGENTS`` agents per server running the same runs; timed phases by server."""
    from llmspell_sessions.client import AsyncSessionClient

    rounds, per_agent = ctx.count(4, 2), ctx.count(2, 1)
    agents = agent_mix.AGENTS
    clients = {
        label: [AsyncSessionClient(up.servers[label].address, timeout=120) for _ in range(agents)] for label in SERVERS
    }
    try:
        probe = await agent_mix.probe_responses(clients[EMBEDDED][0])  # only sizes the (unused) echo messages
        sid_like = await clients[EMBEDDED][0].create_session(name="bench-sizing")
        seeds = iter(range(1, 1_000_000))

        def make_run(seed: int) -> list[agent_mix.Step]:
            return agent_mix.steps_for(agent_mix.agent_run(random.Random(seed), seed), sid_like, probe)

        others = up.others()
        phases: dict[str, list[Phase]] = {label: [] for label in SERVERS}
        for number, order in enumerate(orders(rounds)):
            ctx.progress.step(f"agent mix, round {number + 1}/{rounds}: making the runs")
            runs = [[make_run(next(seeds)) for _ in range(per_agent)] for _ in range(agents)]
            for label in order:
                ctx.progress.step(f"agent mix, round {number + 1}/{rounds}: {label}")
                workers = [agent_mix.service_worker(c, r) for c, r in zip(clients[label], runs, strict=True)]
                phases[label].append(await timed_phase(workers, up.meter(label), others))
        return phases, per_agent
    finally:
        await asyncio.gather(*(c.close() for group in clients.values() for c in group))


def rate_figure(
    ctx: Context, name: str, variant: str, label: str, phases: dict[str, list[Phase]], unit: str, info: dict[str, Any]
) -> None:
    """A per-round rate figure of one server beside the embedded server's (its ceiling)."""
    rates = {server: Summary.of([p.ops / p.seconds for p in found]) for server, found in phases.items()}
    is_ceiling = label == EMBEDDED
    ctx.record(
        Figure(
            "scaleout",
            name,
            f"{label}, {variant}",
            VALUE,
            rates[label],
            ceiling_name="" if is_ceiling else f"embedded RocksDB {name}",
            ceiling=None if is_ceiling else rates[EMBEDDED],
            interleaved=True,
            unit=unit,
            info={
                **info,
                "rounds_per_second": [round(p.ops / p.seconds, 1) for p in phases[label]],
                "ratio_to_1_worker_p50": None if label == PG1 else rates[label].p50 / rates[PG1].p50,
            },
        )
    )


def record_sessions(ctx: Context, up: Cluster, count: int, phases: dict[str, list[Phase]]) -> None:
    variant = concurrency.clients_label(count)
    samples = {label: merge(found) for label, found in phases.items()}
    every = {label: [v for values in s.values() for v in values] for label, s in samples.items()}
    for label in SERVERS:
        info = {**up.info(), "clients": count, "mix": list(concurrency.MIX), "cpu": busy(phases[label])}
        rate_figure(ctx, "session mix ops/s", variant, label, phases, " ops/s", info)
        if label != EMBEDDED:
            per_rpc = {name: Summary.of(samples[label][name]).p50 for name in concurrency.CALLS}
            ctx.record(
                Figure(
                    "scaleout",
                    "session mix, per RPC",
                    f"{label}, {variant}",
                    LATENCY,
                    Summary.of(every[label]),
                    ceiling_name="embedded RocksDB, same mix",
                    ceiling=Summary.of(every[EMBEDDED]),
                    interleaved=True,
                    info={"per_rpc_p50_ns": per_rpc},
                )
            )


def record_agents(ctx: Context, up: Cluster, phases: dict[str, list[Phase]], per_agent: int) -> None:
    variant = f"{agent_mix.AGENTS} agents"
    for label in SERVERS:
        per_rpc = {kind: Summary.of(values).p50 for kind, values in merge(phases[label]).items()}
        info = {
            **up.info(),
            "agents": agent_mix.AGENTS,
            "turns_per_run": agent_mix.TURNS,
            "runs_per_agent_per_round": per_agent,
            "per_rpc_p50_ns": per_rpc,
            "cpu": busy(phases[label], "run"),
        }
        rate_figure(ctx, "agent runs/s", variant, label, phases, " /s", info)


def run(ctx: Context, up: Cluster) -> None:
    for count in levels(ctx):
        record_sessions(ctx, up, count, asyncio.run(session_level(ctx, up, count)))
    phases, per_agent = asyncio.run(agent_rounds(ctx, up))
    record_agents(ctx, up, phases, per_agent)
