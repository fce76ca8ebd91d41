"""A realistic agent workload over gRPC: 8 agents at once, each running sessions of ~20 turns, beside the
same calls made to the bare echo.

One agent run: CreateSession; 20 turns, each with one or two AppendEvents (a tool call, then its
result: in one call half of the time, in two calls otherwise; ~0.2 KB and 0.5–3 KB of payload) and a
SetSessionState of the agent's working state (recent messages, plan, scratchpad: 2–6 KB of JSON);
a StoreArtifact every 4th turn (a new JSON-lines transcript, 10–200 KB log-uniform, from
``bench/payloads.py``, LZ4-compressed by the server); a CreateCheckpoint every 10th turn; then
CompleteSession. That is ~59 calls and ~0.4 MB per run. 8 agents (one ``AsyncSessionClient``, one
channel each) run their runs back to back against one real server (RocksDB, ``--no-access-log``,
rate limits off; ``bench/load.py``). Everything an agent sends is made before the phase, untimed.

The ceiling replays the very same calls in the same order from 8 concurrent clients against the bare
grpc.aio echo (``bench/echo_server.py``), each message as big as the larger of the call's request and
its response (response sizes probed once per RPC), so the ratio says what the store costs over the
transport. Service and echo phases alternate in rounds, each round with new runs (new artifact
bytes: nothing deduplicates across runs). Figures: runs/s and turns/s (p50 of the rounds), and per
RPC type the p50/p99 latency beside the echo calls of the same sizes.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from dataclasses import dataclass
from typing import Any

from .. import payloads
from ..echo_server import METHOD
from ..framework import LATENCY, VALUE, Context, Figure, Summary, Target, cdfs
from ..load import LoadServers, Phase, Worker, busy, channel_options, load_servers, merge, timed_phase

NAME = "agent-mix"
ORDER = 37
AGENTS = 8
TURNS = 20
ARTIFACT_EVERY = 4
CHECKPOINT_EVERY = 10
ARTIFACT_BYTES = (10_000, 200_000)
STATE_BYTES = (2_000, 6_000)
KINDS = ("CreateSession", "AppendEvents", "SetSessionState", "StoreArtifact", "CreateCheckpoint", "CompleteSession")
TOOLS = ("search_code", "read_file", "run_tests", "write_file", "web_search", "shell")
# The same reasoning as for ``concurrency``: the store may cost the server at most as much as the transport.
TARGET = Target.at_least_times(0.5, "echo")


@dataclass
class Step:
    """One call of an agent run: the RPC, what the client passes, the echo's message in the ceiling."""

    kind: str
    arg: Any
    echo: bytes


def sentences(rng: random.Random, count: int) -> str:
    return " ".join(rng.choices(payloads.pools().sentences, k=count))


def state_entries(rng: random.Random, turn: int) -> dict[str, Any]:
    """The agent's working state after a turn: 2–6 KB of JSON."""
    target = rng.randint(*STATE_BYTES)
    entries: dict[str, Any] = {
        "turn": turn,
        "plan": [sentences(rng, 1) for _ in range(rng.randint(2, 5))],
        "scratchpad": sentences(rng, rng.randint(1, 4)),
        "messages": [],
        "usage": {"prompt_tokens": rng.randint(500, 120_000), "completion_tokens": rng.randint(10, 4000)},
    }
    while len(json.dumps(entries)) < target:
        role = rng.choice(("user", "assistant", "tool"))
        entries["messages"].append({"role": role, "content": sentences(rng, rng.randint(1, 5))})
    return entries


def tool_events(rng: random.Random, run: str, turn: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A tool call (~0.2 KB) and its result (0.5–3 KB)."""
    tool, call_id = rng.choice(TOOLS), f"call_{rng.getrandbits(64):016x}"
    call = {
        "type": "agent.tool_call",
        "correlation_id": run,
        "payload": {"turn": turn, "id": call_id, "tool": tool, "arguments": {"query": sentences(rng, 1), "k": 5}},
    }
    output = sentences(rng, 1)
    limit = rng.randint(500, 3000)
    while len(output) < limit:
        output += " " + sentences(rng, 1)
    result = {
        "type": "agent.tool_result",
        "correlation_id": run,
        "payload": {
            "turn": turn,
            "id": call_id,
            "tool": tool,
            "ok": True,
            "ms": rng.randint(5, 9000),
            "output": output,
        },
    }
    return call, result


def agent_run(rng: random.Random, seed: int) -> list[tuple[str, Any]]:
    """The calls of one run, in order, as (RPC, what the client method takes)."""
    run = f"run-{seed}"
    calls: list[tuple[str, Any]] = [("CreateSession", run)]
    for turn in range(1, TURNS + 1):
        call, result = tool_events(rng, run, turn)
        if rng.random() < 0.5:
            calls.append(("AppendEvents", [call, result]))
        else:
            calls += [("AppendEvents", [call]), ("AppendEvents", [result])]
        calls.append(("SetSessionState", state_entries(rng, turn)))
        if turn % ARTIFACT_EVERY == 0:
            low, high = ARTIFACT_BYTES
            size = int(math.exp(rng.uniform(math.log(low), math.log(high))))
            calls.append(("StoreArtifact", (f"turn-{turn}.jsonl", payloads.transcript(size, seed * 1_000 + turn))))
        if turn % CHECKPOINT_EVERY == 0:
            calls.append(("CreateCheckpoint", f"turn-{turn}"))
    calls.append(("CompleteSession", None))
    return calls


def request(kind: str, arg: Any, sid: str) -> Any:
    """The protobuf request the client builds for a call (to size its echo)."""
    from llmspell_sessions import wire as convert
    from llmspell_sessions._pb import artifact_pb2, replay_pb2, session_pb2
    from llmspell_sessions.client._artifact_api import make_header
    from llmspell_sessions.wire.artifacts import header_to_pb

    from .replay import append_request

    if kind == "CreateSession":
        return session_pb2.CreateSessionRequest(name=arg)
    if kind == "AppendEvents":
        return append_request(sid, arg)
    if kind == "SetSessionState":
        built = session_pb2.SetSessionStateRequest(session_id=sid)
        convert.py_to_value_map(arg, built.entries)
        return built
    if kind == "StoreArtifact":
        header = header_to_pb(make_header(sid, arg[0], mime_type="application/x-ndjson"))
        return artifact_pb2.StoreArtifactRequest(header=header, content=arg[1])
    if kind == "CreateCheckpoint":
        return replay_pb2.CreateCheckpointRequest(session_id=sid, label=arg)
    return session_pb2.CompleteSessionRequest(session_id=sid)


async def probe_responses(client: Any) -> dict[str, tuple[int, int]]:
    """(request, response) bytes of each RPC for one short run made through the raw stubs."""
    rng = random.Random(0)
    calls = agent_run(rng, 0)
    sid = ""
    found: dict[str, tuple[int, int]] = {}
    for kind, arg in calls:
        built = request(kind, arg, sid)
        service = {"AppendEvents": "replay", "CreateCheckpoint": "replay", "StoreArtifact": "artifact"}
        response = await getattr(client.stub(service.get(kind, "session")), kind)(built, timeout=60)
        sid = sid or response.session_id
        found.setdefault(kind, (built.ByteSize(), response.ByteSize()))
    return found


def steps_for(calls: list[tuple[str, Any]], sid_like: str, probe: dict[str, tuple[int, int]]) -> list[Step]:
    """The run's steps with their echo messages: the larger of request and (estimated) response."""
    steps = []
    for kind, arg in calls:
        size = request(kind, arg, sid_like).ByteSize()
        probe_request, probe_response = probe[kind]
        # AppendEvents answers with the events it stored: it grows with the request; the others answer a record
        response = size + probe_response - probe_request if kind == "AppendEvents" else probe_response
        steps.append(Step(kind, arg, b"\x00" * max(size, response)))
    return steps


def service_worker(client: Any, runs: list[list[Step]]) -> Worker:
    clock = time.perf_counter_ns

    async def loop(samples: dict[str, list[float]]) -> int:
        for steps in runs:
            sid = ""
            for step in steps:
                start = clock()
                if step.kind == "CreateSession":
                    sid = await client.create_session(name=step.arg)
                elif step.kind == "AppendEvents":
                    await client.append_events(sid, step.arg)
                elif step.kind == "SetSessionState":
                    await client.set_session_state(sid, step.arg)
                elif step.kind == "StoreArtifact":
                    await client.store_artifact(sid, step.arg[0], step.arg[1], mime_type="application/x-ndjson")
                elif step.kind == "CreateCheckpoint":
                    await client.create_checkpoint(sid, step.arg)
                else:
                    await client.complete_session(sid)
                samples[step.kind].append(clock() - start)
        return len(runs)

    return loop


def echo_worker(call: Any, runs: list[list[Step]]) -> Worker:
    clock = time.perf_counter_ns

    async def loop(samples: dict[str, list[float]]) -> int:
        for steps in runs:
            for step in steps:
                start = clock()
                await call(step.echo, timeout=60)
                samples[step.kind].append(clock() - start)
        return len(runs)

    return loop


async def measure(ctx: Context, up: LoadServers) -> None:
    import grpc
    from llmspell_sessions.client import AsyncSessionClient

    rounds, per_agent = ctx.count(6, 4), ctx.count(3, 1)
    clients = [AsyncSessionClient(up.session.address, timeout=120) for _ in range(AGENTS)]
    channels = [grpc.aio.insecure_channel(up.echo.address, options=channel_options()) for _ in range(AGENTS)]
    try:
        probe = await probe_responses(clients[0])
        sid_like = await clients[0].create_session(name="bench-sizing")  # ids all have this length
        seeds = iter(range(1, 1_000_000))
        phases: dict[str, list[Phase]] = {"service": [], "echo": []}
        sizes: dict[str, list[int]] = {kind: [] for kind in KINDS}  # the echo's message bytes, by RPC
        for number in range(rounds):
            ctx.progress.step(f"round {number + 1}/{rounds}: making the runs")
            runs = [
                [
                    steps_for(agent_run(random.Random(seed), seed), sid_like, probe)
                    for seed in seeds_of(seeds, per_agent)
                ]
                for _ in range(AGENTS)
            ]
            for step in (step for agent in runs for steps in agent for step in steps):
                sizes[step.kind].append(len(step.echo))
            kinds = {
                "service": ([service_worker(c, r) for c, r in zip(clients, runs, strict=True)], up.session.proc.pid),
                "echo": (
                    [echo_worker(ch.unary_unary(METHOD), r) for ch, r in zip(channels, runs, strict=True)],
                    up.echo.proc.pid,
                ),
            }
            for kind in ("service", "echo") if number % 2 == 0 else ("echo", "service"):
                ctx.progress.step(f"round {number + 1}/{rounds}: {kind}")
                workers, pid = kinds[kind]
                phases[kind].append(await timed_phase(workers, pid))
        record(ctx, up, phases, sizes, per_agent)
    finally:
        await asyncio.gather(*(c.close() for c in clients), *(ch.close() for ch in channels))


def seeds_of(seeds: Any, count: int) -> list[int]:
    return [next(seeds) for _ in range(count)]


def record(
    ctx: Context,
    up: LoadServers,
    phases: dict[str, list[Phase]],
    sizes: dict[str, list[int]],
    per_agent: int,
) -> None:
    mine, theirs = phases["service"], phases["echo"]
    runs = AGENTS * per_agent * len(mine)
    info: dict[str, Any] = {
        **up.info(),
        "agents": AGENTS,
        "turns_per_run": TURNS,
        "runs_per_agent_per_round": per_agent,
        "rounds": len(mine),
        "runs": runs,
        "calls_per_run": {kind: round(len(found) / runs, 2) for kind, found in sizes.items()},
        "bytes_per_run": round(sum(sum(found) for found in sizes.values()) / runs),
        "service": busy(mine, "run"),
        "echo": busy(theirs, "run"),
        "round_seconds": [round(p.seconds, 3) for p in mine],
        "ceiling_round_seconds": [round(p.seconds, 3) for p in theirs],
    }
    for name, per_run in (("agent runs/s", 1), ("turns/s", TURNS)):
        ctx.record(
            Figure(
                NAME,
                name,
                f"{AGENTS} agents",
                VALUE,
                Summary.of([p.ops * per_run / p.seconds for p in mine]),
                ceiling_name=f"echo {name}",
                ceiling=Summary.of([p.ops * per_run / p.seconds for p in theirs]),
                target=TARGET if per_run == 1 else None,
                interleaved=True,
                unit=" /s",
                info=info if per_run == 1 else {"see": "agent runs/s"},
            )
        )
    samples, echo_samples = merge(mine), merge(theirs)
    for kind in KINDS:
        ctx.record(
            Figure(
                NAME,
                kind,
                f"{AGENTS} agents",
                LATENCY,
                Summary.of(samples[kind]),
                ceiling_name="grpc echo, same sizes",
                ceiling=Summary.of(echo_samples[kind]),
                interleaved=True,
                info={
                    "calls": len(samples[kind]),
                    "echo_bytes_p50": Summary.of(sizes[kind]).p50,
                    "echo_bytes_max": max(sizes[kind]),
                },
                cdf=cdfs(samples[kind], echo_samples[kind]),
            )
        )


def run(ctx: Context) -> None:
    with load_servers(ctx, NAME) as up:
        asyncio.run(measure(ctx, up))
