"""Server CPU per unary call: GetSession, CreateSession, SetSessionState and ApplyChanges against the
bare grpcio echo, from the servers' own CPU time (utime + stime of the process, all threads).

    .venv/bin/python -m bench.unary_cpu [--calls 1000] [--rounds 7] [--access-log]

CPU time, unlike latency, hardly moves when other work shares the machine: it is what each call
costs the server, so it shows a change to the unary path where p50s on a busy 2-core box drown it.
One client thread calls each method ``--calls`` times per round, the methods interleaved round by
round; the figure is the median of the rounds and ``x echo`` its ratio to the echo's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import grpc
from google.protobuf import struct_pb2
from llmspell_sessions._pb import session_pb2, session_pb2_grpc

from .echo_server import METHOD
from .processes import SESSION_SERVER_ENV, running, session_server_args
from .scenarios.grpc_unary import cpu_seconds

ROOT = Path(__file__).resolve().parent.parent


def calls(session_address: str, echo_address: str) -> dict[str, Callable[[], object]]:
    """The measured calls, each about the size of the echo's 90-byte message."""
    stub = session_pb2_grpc.SessionServiceStub(grpc.insecure_channel(session_address))
    echo = grpc.insecure_channel(echo_address).unary_unary(METHOD)
    session_id = stub.CreateSession(session_pb2.CreateSessionRequest(name="cpu")).session_id
    value = struct_pb2.Value(string_value="v")
    return {
        "echo": lambda: echo(b"x" * 90),
        "GetSession": lambda: stub.GetSession(session_pb2.GetSessionRequest(session_id=session_id)),
        "CreateSession": lambda: stub.CreateSession(session_pb2.CreateSessionRequest(name="x", tags=["a", "b"])),
        "SetSessionState": lambda: stub.SetSessionState(
            session_pb2.SetSessionStateRequest(session_id=session_id, entries={"k": value})
        ),
        "ApplyChanges": lambda: stub.ApplyChanges(
            session_pb2.ApplyChangesRequest(session_id=session_id, entries={"k": value})
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--access-log", action="store_true", help="the server writes its access log (default off)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        server_args = session_server_args(Path(tmp) / "store", access_log=args.access_log)
        with (
            running(server_args, SESSION_SERVER_ENV, ROOT) as server,
            running(["-m", "bench.echo_server", "--address", "127.0.0.1:0"], {}, ROOT) as echo,
        ):
            measured = calls(server.address, echo.address)
            pids = {name: (echo if name == "echo" else server).proc.pid for name in measured}
            for call in measured.values():  # warm up: connections, caches, the pool's threads
                for _ in range(200):
                    call()
            rounds: dict[str, list[float]] = {name: [] for name in measured}
            for _ in range(args.rounds):
                for name, call in measured.items():
                    before = cpu_seconds(pids[name])
                    for _ in range(args.calls):
                        call()
                    rounds[name].append((cpu_seconds(pids[name]) - before) / args.calls * 1e6)
    echo_us = statistics.median(rounds["echo"])
    print(f"server CPU per call, median of {args.rounds} rounds x {args.calls} calls (us); load {os.getloadavg()}")
    for name, values in rounds.items():
        median = statistics.median(values)
        spread = f"min {min(values):5.0f}  max {max(values):5.0f}"
        print(f"{name:16s} {median:6.0f} us  {spread}  x echo {median / echo_us:4.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
