"""Where should unary engine calls run? GetSession latency, alone and beside a stream of durable SaveSessions,
for each execution model of rpc/execution.py (loop, thread, hybrid), on one real server each.

    .venv/bin/python bench/execution_model.py [--calls 2000] [--rounds 2]

Each model gets its own server subprocess (RocksDB in a temp dir, no access log, rate limits off).
"alone": one client, sequential GetSession. "beside saves": the same while a second client thread
loops SaveSession (an fsync each) on another session. The ceiling is the "alone" p50 of the loop
model (no thread hop at all); ratios are against it. Rounds alternate the models' order.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.processes import ServerProcess  # noqa: E402

MODELS = ("loop", "thread", "hybrid")
ENV = {"LLMSPELL_SESSION_RATE_LIMIT_GLOBAL": "0", "LLMSPELL_SESSION_RATE_LIMIT_PER_SESSION": "0"}


def serve(model: str, path: str) -> None:
    """The server side: a real Server with the given execution model, until SIGTERM."""
    from llmspell_sessions.config import load_config
    from llmspell_sessions.rpc.execution import Execution, Model
    from llmspell_sessions.rpc.logs import configure_logging
    from llmspell_sessions.rpc.server import Server

    configure_logging("INFO")
    engine, server = load_config(overrides={"storage_path": path}, server_overrides={"address": "127.0.0.1:0"})
    server = type(server)(**{**server.__dict__, "access_log": False})

    async def run() -> None:
        import signal

        instance = Server(engine, server, Execution(Model(model)))
        await instance.start()
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await instance.stop()

    asyncio.run(run())


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1e6, ordered[int(len(ordered) * 0.99) - 1] * 1e6


def measure(address: str, calls: int) -> dict[str, tuple[float, float]]:
    from llmspell_sessions.client import SessionClient

    with SessionClient(address) as reader, SessionClient(address) as writer:
        sid, busy = reader.create_session(), writer.create_session()
        for _ in range(200):  # warm up
            reader.get_session(sid)
        alone = _timed(lambda: reader.get_session(sid), calls)
        stop = threading.Event()
        saves: list[float] = []

        def save_loop() -> None:
            while not stop.is_set():
                started = time.perf_counter()
                writer.set_session_state(busy, {"k": 1})
                writer.save_session(busy)
                saves.append(time.perf_counter() - started)

        saver = threading.Thread(target=save_loop, daemon=True)
        saver.start()
        time.sleep(0.2)
        beside = _timed(lambda: reader.get_session(sid), calls)
        stop.set()
        saver.join()
    return {"alone": percentiles(alone), "beside saves": percentiles(beside), "save+set": percentiles(saves)}


def _timed(call: object, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve", choices=MODELS, help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve(args.serve, args.path)
    results: dict[str, dict[str, list[tuple[float, float]]]] = {m: {} for m in MODELS}
    for round_number in range(args.rounds):
        order = MODELS if round_number % 2 == 0 else MODELS[::-1]
        for model in order:
            with tempfile.TemporaryDirectory() as path:
                server = ServerProcess([__file__, "--serve", model, "--path", path], ENV, Path.cwd())
                try:
                    figures = measure(server.wait_ready(), args.calls)
                finally:
                    server.stop()
            for name, value in figures.items():
                results[model].setdefault(name, []).append(value)
    ceiling = statistics.median(p50 for p50, _ in results["loop"]["alone"])
    print(
        f"GetSession latency, µs (p50 / p99, median of {args.rounds} rounds); ceiling = loop alone p50 {ceiling:.0f} µs"
    )
    header = (
        ("alone p50", 10),
        ("p99", 8),
        ("beside saves p50", 17),
        ("p99", 8),
        ("p50 ratio", 10),
        ("save+set p50", 13),
    )
    print(f"{'model':8} " + " ".join(f"{name:>{width}}" for name, width in header))
    for model in MODELS:
        row = {
            k: (statistics.median(a for a, _ in v), statistics.median(b for _, b in v))
            for k, v in results[model].items()
        }
        alone, beside, saves = row["alone"], row["beside saves"], row["save+set"]
        print(
            f"{model:8} {alone[0]:10.0f} {alone[1]:8.0f} {beside[0]:17.0f} {beside[1]:8.0f}"
            f" {alone[0] / ceiling:9.2f}x {saves[0]:13.0f}"
        )
    print(f"cpus={os.cpu_count()} calls={args.calls}")


if __name__ == "__main__":
    main()
