"""cProfile of the two hottest session paths: embedded create_session on RocksDB, and gRPC CreateSession.

Usage: ``python -m bench.profiling [--embedded 20000] [--grpc 2000] [--top 25]``. The embedded run
profiles ``SessionManager.create_session`` in-process. The gRPC run profiles both sides: the server
runs under ``profiled_server.py``, which profiles only the window of the measured calls on its main
thread (where its event loop, servicer and engine run); then the bare echo server the same way, as
the baseline; the client is profiled in this process.
Writes the text report to ``bench/results/profile-<UTC timestamp>.txt`` and prints it.

cProfile roughly doubles the cost of Python-level calls, so read the shares, not the absolute times.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc

from .echo_server import METHOD
from .processes import SESSION_SERVER_ENV, ServerProcess, running, session_server_args

ROOT = Path(__file__).resolve().parent.parent
IDLE = "<method 'poll' of 'select.epoll' objects>"


def top(stats: pstats.Stats, title: str, count: int, idle: str = "", calls: int = 0) -> str:
    """Self time and cumulative time tables, with each function's share of the total.

    With ``idle`` (a built-in's name, such as the event loop's epoll wait), a second share is given
    against the busy time: the total less the time spent waiting there for the next request.
    """
    entries = stats.stats  # type: ignore[attr-defined]
    total = stats.total_tt  # type: ignore[attr-defined]
    waiting = sum(v[2] for (_, _, name), v in entries.items() if idle and name == idle)
    busy = total - waiting
    lines = [f"## {title}", f"total {total:.3f} s profiled"]
    if calls:
        lines.append(f"per call: {1e6 * total / calls:.0f} µs profiled, {1e6 * busy / calls:.0f} µs busy")
    if idle:
        lines.append(f"waiting in {idle}: {waiting:.3f} s ({100 * waiting / total:.1f}%); busy {busy:.3f} s")
    lines.append("")
    for index, label in ((2, "self time"), (3, "cumulative time")):
        lines.append(f"### by {label}")
        lines.append(f"{'%':>6} {'%busy':>6} {'seconds':>8} {'calls':>9}  function")
        ranked = sorted(entries.items(), key=lambda item: item[1][index], reverse=True)[:count]
        for (path, line, name), values in ranked:
            seconds, calls = values[index], values[1]
            where = f"{Path(path).name}:{line}" if line else path
            share = f"{100 * seconds / busy:6.1f}" if idle else f"{'':6}"
            lines.append(f"{100 * seconds / total:6.1f} {share} {seconds:8.3f} {calls:9d}  {name} ({where})")
        lines.append("")
    return "\n".join(lines)


def profile_embedded(count: int, top_n: int) -> str:
    """create_session ``count`` times on a fresh RocksDB store."""
    from llmspell_sessions import SessionManager

    with tempfile.TemporaryDirectory(prefix="profile-embedded-") as tmp:
        limits: dict[str, Any] = {
            "max_sessions": 10_000_000,
            "rate_limit_global": 1e12,
            "rate_limit_per_session": 1e12,
        }
        with SessionManager(storage_path=f"{tmp}/store", start_sweeper=False, **limits) as manager:
            for _ in range(200):
                manager.create_session(name="bench")
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(count):
                manager.create_session(name="bench")
            profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    return top(stats, f"embedded create_session x{count} (rocksdb)", top_n, calls=count)


@contextmanager
def profiled(module_args: list[str], env: dict[str, str], cwd: Path, out: Path) -> Iterator[ServerProcess]:
    """A server module run under profiled_server.py: its profile window opens and closes on signals."""
    wrapper = str(Path(__file__).resolve().parent / "profiled_server.py")
    with running([wrapper, str(out), *module_args], {**env, "PYTHONPATH": str(ROOT)}, cwd) as server:
        yield server


def profile_window(server: ServerProcess, out: Path, calls: Callable[[], None]) -> None:
    """Runs calls() with the server's profile window open, then waits for its profile file."""
    server.proc.send_signal(signal.SIGUSR1)
    time.sleep(0.2)  # let the handler run before the first measured call
    calls()
    server.proc.send_signal(signal.SIGUSR2)
    deadline = time.monotonic() + 30
    while not out.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # the file appears before it is complete


def profile_grpc(count: int, top_n: int) -> str:
    """CreateSession ``count`` times through the real server, then as many same-size echoes.

    Both servers and the client are profiled over the measured calls only; the echo server's
    profile is the part of the server's that any grpc.aio unary call pays.
    """
    from llmspell_sessions.client import SessionClient
    from llmspell_sessions.client.channel import ConnectionOptions

    with tempfile.TemporaryDirectory(prefix="profile-grpc-") as tmp:
        cwd = Path(tmp)
        server_out, echo_out = cwd / "server.prof", cwd / "echo.prof"
        client_profiler = cProfile.Profile()
        session_args = ["llmspell_sessions", *session_server_args(cwd / "store")[2:]]
        with (
            profiled(session_args, SESSION_SERVER_ENV, cwd, server_out) as server,
            SessionClient(server.address) as client,
        ):
            for _ in range(200):
                client.create_session(name="bench")

            def creates() -> None:
                client_profiler.enable()
                for _ in range(count):
                    client.create_session(name="bench")
                client_profiler.disable()

            profile_window(server, server_out, creates)
        options = ConnectionOptions().channel_options()
        with (
            profiled(["bench.echo_server"], {}, cwd, echo_out) as echo,
            grpc.insecure_channel(echo.address, options) as channel,
        ):
            call, payload = channel.unary_unary(METHOD), b"\x00" * 107  # a CreateSession response's size
            for _ in range(200):
                call(payload, timeout=30)

            def echoes() -> None:
                for _ in range(count):
                    call(payload, timeout=30)

            profile_window(echo, echo_out, echoes)
        parts = []
        for out, title in ((server_out, "server"), (echo_out, "bare grpc.aio echo server, same calls")):
            if out.exists():
                stats = pstats.Stats(str(out), stream=io.StringIO())
                parts.append(top(stats, f"gRPC CreateSession x{count}: {title}", top_n, idle=IDLE, calls=count))
            else:
                parts.append(f"## {title}: no profile was written\n")
        client_stats = pstats.Stats(client_profiler, stream=io.StringIO())
        parts.append(top(client_stats, f"gRPC CreateSession x{count}: client", top_n, calls=count))
        return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profiling", description=__doc__.splitlines()[0])
    parser.add_argument("--embedded", type=int, default=20_000, help="embedded create_session calls")
    parser.add_argument("--grpc", type=int, default=2_000, help="gRPC CreateSession calls")
    parser.add_argument("--top", type=int, default=25, help="functions listed per table")
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = profile_embedded(args.embedded, args.top) + "\n" + profile_grpc(args.grpc, args.top)
    path = ROOT / "bench" / "results" / f"profile-{stamp}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
