"""The RPC fuzz harness: bytes → (RPC, request messages) → a live server over loopback.

    python -m tests.fuzz.harness --seconds 20 --store DIR [--corpus DIR] [--artifacts DIR]

It serves the real grpc.aio ``Server`` in this process (so atheris sees the server's coverage of
``llmspell_sessions``) and calls it through a real channel. An INTERNAL/UNKNOWN/DATA_LOSS/UNAVAILABLE
answer, or a unary call that hangs, is a finding (the input is saved by libFuzzer). At the end the
server must still answer health checks and a CreateSession; the last line is ``FUZZ-SUMMARY {json}``.
Without atheris (``--engine random``, or atheris not installed) a seeded mutation loop runs instead.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

from . import targets as t

SEEDS = Path(__file__).parent / "seeds"


class Session:
    """The server under test, a channel to it, a live session id and the running tallies."""

    def __init__(self, store: Path, deadline: float) -> None:
        import grpc

        self.server, self.loop = _serve_in_thread(store)
        self.channel = grpc.insecure_channel(self.server.address)
        self.targets = t.load()
        self.live_id = self._new_session().encode()
        self.deadline = deadline
        self.codes: collections.Counter[str] = collections.Counter()
        self.inputs = 0

    def _new_session(self) -> str:
        from llmspell_sessions._pb import session_pb2, session_pb2_grpc

        stub = session_pb2_grpc.SessionServiceStub(self.channel)
        return stub.CreateSession(session_pb2.CreateSessionRequest(name="fuzz"), timeout=10).session_id

    def one_input(self, data: bytes) -> None:
        """Runs one input; raises AssertionError on a finding, ends the run once time is up."""
        if time.monotonic() > self.deadline:
            self.finish()
        self.inputs += 1
        decoded = t.decode_input(self.targets, data, self.live_id)
        if decoded is None:
            self.codes["unparsable"] += 1
            return
        target, messages = decoded
        code = t.call(self.channel, target, messages)
        self.codes[code] += 1
        problem = t.verdict(target, code)
        if problem:
            raise AssertionError(f"{problem} for {[str(m)[:500] for m in messages]}")
        if self.inputs % 500 == 0:
            self.live_id = self._new_session().encode()  # the old one may be completed or deleted by now

    def finish(self) -> None:
        """Checks the server still serves, prints the summary and exits (libFuzzer never returns)."""
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        health = health_pb2_grpc.HealthStub(self.channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        serving = health.status == health_pb2.HealthCheckResponse.SERVING and bool(self._new_session())
        summary = {
            "inputs": self.inputs,
            "rpcs": sum(v for k, v in self.codes.items() if k != "unparsable"),
            "codes": dict(self.codes.most_common()),
            "serving": serving,
        }
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(30)
        print("FUZZ-SUMMARY " + json.dumps(summary), flush=True)
        os._exit(0 if serving else 1)


def _serve_in_thread(store: Path) -> tuple[Any, asyncio.AbstractEventLoop]:
    from llmspell_sessions.config import ServerConfig, SessionManagerConfig
    from llmspell_sessions.rpc.server import Server

    engine = SessionManagerConfig(
        storage_path=str(store), max_sessions=1_000_000, rate_limit_global=0, rate_limit_per_session=0
    )

    async def start() -> Any:
        server = Server(engine, ServerConfig(address="127.0.0.1:0", access_log=False))
        await server.start()
        return server

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    return asyncio.run_coroutine_threadsafe(start(), loop).result(30), loop


def _mutate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    """One libFuzzer-like mutation: flip, insert, delete, duplicate or splice."""
    buf = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        choice, at = rng.randrange(5), rng.randrange(len(buf) + 1)
        if choice == 0 and buf:
            buf[min(at, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif choice == 1:
            buf[at:at] = rng.randbytes(rng.randint(1, 8))
        elif choice == 2 and buf:
            del buf[at : at + rng.randint(1, 8)]
        elif choice == 3:
            buf[at:at] = buf[at : at + rng.randint(1, 32)]
        else:
            other = rng.choice(pool)
            buf[at:] = other[rng.randrange(len(other) + 1) :]
    return bytes(buf)


def run_random(session: Session, seeds: list[bytes], seed: int) -> None:
    """The fallback engine: seeds first, then mutations of them until the deadline."""
    rng = random.Random(seed)
    for data in seeds:
        session.one_input(data)
    while True:
        session.one_input(_mutate(rng.choice(seeds), rng, seeds))


def run_atheris(session: Session, corpus: Path, artifacts: Path, seconds: float) -> None:
    import atheris

    argv = [
        sys.argv[0],
        f"-max_total_time={int(seconds) + 60}",
        "-timeout=60",
        "-max_len=16384",
        f"-artifact_prefix={artifacts}/",
        "-rss_limit_mb=4096",
        str(corpus),
        str(SEEDS),
    ]
    atheris.Setup(argv, session.one_input)
    atheris.Fuzz()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("LLMSPELL_FUZZ_SECONDS", 20)))
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--corpus", type=Path, help="libFuzzer's working corpus (default STORE/../corpus)")
    parser.add_argument("--artifacts", type=Path, help="where findings are written (default STORE/..)")
    parser.add_argument("--engine", choices=["atheris", "random"], default="atheris")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    engine = args.engine
    if engine == "atheris":
        try:
            import atheris
        except ImportError:
            engine = "random"
    print(f"fuzz engine: {engine}", flush=True)
    if engine == "atheris":
        with atheris.instrument_imports(include=["llmspell_sessions"]):
            import llmspell_sessions.rpc.server  # noqa: F401 - instrumented for coverage feedback
    session = Session(args.store, time.monotonic() + args.seconds)
    if engine == "atheris":
        corpus = args.corpus or args.store.parent / "corpus"
        corpus.mkdir(parents=True, exist_ok=True)
        run_atheris(session, corpus, args.artifacts or args.store.parent, args.seconds)
    else:
        run_random(session, [p.read_bytes() for p in sorted(SEEDS.glob("*.bin"))], args.seed)


if __name__ == "__main__":
    main()
