"""Unary session calls through the real server, interleaved with a bare grpcio echo of the same size.

The real server (``python -m llmspell_sessions serve``, RocksDB in a temporary directory) and the
echo server (``bench/echo_server.py``, grpc.aio, a generic handler returning the request bytes) each
run in their own subprocess; one blocking client calls both. For each RPC the echo payload is as big
as the larger of that RPC's request and response, so the echo moves at least as many bytes. The CPU
each server spends per call is read from /proc, over the whole interleaved measurement.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2

from ..echo_server import METHOD
from ..framework import LATENCY, Contender, Context, Figure, Summary, Target, cdfs
from ..processes import SESSION_SERVER_ENV, ServerProcess, running, session_server_args

NAME = "grpc"
ORDER = 30
WORKING_SET = 100
TARGET = Target.at_most_times(1.3, "echo")


@dataclass
class Call:
    """One RPC as the client API makes it, and the protobuf request that sizes its echo."""

    name: str
    op: Callable[[], object]
    probe: Callable[[], tuple[int, int]]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (clock-tick resolution)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def calls(client: Any, working: list[str]) -> list[Call]:
    """CreateSession, GetSession and SetSessionState; probes return (request, response) bytes."""
    from llmspell_sessions._pb import session_pb2

    stub = client.stub("session")
    ids, steps = itertools.cycle(working), itertools.count()

    def sizes(method: str, request: Any) -> tuple[int, int]:
        return request.ByteSize(), getattr(stub, method)(request, timeout=30).ByteSize()

    def state_request() -> Any:
        entries = {"step": struct_pb2.Value(number_value=1)}
        return session_pb2.SetSessionStateRequest(session_id=working[0], entries=entries)

    return [
        Call(
            "CreateSession",
            lambda: client.create_session(name="bench"),
            lambda: sizes("CreateSession", session_pb2.CreateSessionRequest(name="bench")),
        ),
        Call(
            "GetSession",
            lambda: client.get_session(next(ids)),
            lambda: sizes("GetSession", session_pb2.GetSessionRequest(session_id=working[0])),
        ),
        Call(
            "SetSessionState",
            lambda: client.set_session_state(next(ids), {"step": next(steps)}),
            lambda: sizes("SetSessionState", state_request()),
        ),
    ]


def echo_op(call: Any, payload: bytes) -> Callable[[], object]:
    """One echo of payload."""
    return lambda: call(payload, timeout=30.0)


def measure(ctx: Context, server: ServerProcess, echo_server: ServerProcess) -> None:
    """Each call next to the echo, A/B/A/B."""
    from llmspell_sessions.client import SessionClient
    from llmspell_sessions.client.channel import ConnectionOptions

    samples = ctx.count(5_000, 1_000)
    options = ConnectionOptions().channel_options()  # the client's own channel options, for parity
    with (
        SessionClient(server.address) as client,
        grpc.insecure_channel(echo_server.address, options) as channel,
    ):
        working = [client.create_session(name="bench") for _ in range(WORKING_SET)]
        echo_call = channel.unary_unary(METHOD)
        for call in calls(client, working):
            request_bytes, response_bytes = call.probe()
            payload = b"\x00" * max(request_bytes, response_bytes)
            echo = Contender("echo", echo_op(echo_call, payload))
            cpu = (cpu_seconds(server.proc.pid), cpu_seconds(echo_server.proc.pid))
            found = ctx.interleave_raw([Contender(call.name, call.op), echo], samples, warmup=100, label=call.name)
            calls_made = samples + 100
            info = {
                "request_bytes": request_bytes,
                "response_bytes": response_bytes,
                "echo_bytes": len(payload),
                "server_cpu_us_per_call": (cpu_seconds(server.proc.pid) - cpu[0]) / calls_made * 1e6,
                "echo_server_cpu_us_per_call": (cpu_seconds(echo_server.proc.pid) - cpu[1]) / calls_made * 1e6,
                "client": "SessionClient (blocking)",
                "backend": "rocksdb",
            }
            ctx.record(
                Figure(
                    NAME,
                    call.name,
                    "rocksdb",
                    LATENCY,
                    Summary.of(found[call.name]),
                    ceiling_name="grpc echo",
                    ceiling=Summary.of(found["echo"]),
                    target=TARGET,
                    interleaved=True,
                    info=info,
                    cdf=cdfs(found[call.name], found["echo"]),
                )
            )


def run(ctx: Context) -> None:
    """Starts both servers, measures, stops them."""
    cwd = ctx.tempdir("grpc")
    session_args = session_server_args(cwd / "store")
    echo_args = [str(Path(__file__).resolve().parent.parent / "echo_server.py")]
    with running(session_args, SESSION_SERVER_ENV, cwd) as server, running(echo_args, {}, cwd) as echo:
        ctx.progress.step(f"session server on {server.address}, echo on {echo.address}")
        measure(ctx, server, echo)
