"""Soak: 64 concurrent clients against one server on loopback doing a realistic mix; zero errors.

LLMSPELL_SOAK_SECONDS sets the length (default 10; `make soak` runs 60). Prints errors, p50/p99
latency and throughput, and cross-checks the server's own request counter.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from llmspell_sessions.client import AsyncSessionClient

from tests.hardening.test_metrics import metrics_addresses, scrape
from tests.helpers.consistency import check_store
from tests.helpers.server import ServerProcess

CLIENTS = 64
MAX_OPS_PER_CLIENT = 1_000_000  # a bound on every loop, beside the clock
MIX = (("create", 8), ("get", 30), ("set_state", 25), ("store", 15), ("list_sessions", 10), ("list_artifacts", 12))


@dataclass
class Tally:
    """Latencies (seconds) per operation and every error seen."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def all(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]


async def _op(c: AsyncSessionClient, kind: str, mine: list[str], rng: random.Random) -> None:
    if kind == "create" or not mine:
        mine.append(await c.create_session(name=f"soak-{rng.randrange(1000)}", tags=["soak"]))
        del mine[:-8]  # work on a few recent sessions, like an agent does
    elif kind == "get":
        await c.get_session(rng.choice(mine))
    elif kind == "set_state":
        await c.set_session_state(rng.choice(mine), {"turn": rng.randrange(100), "note": "n" * rng.randrange(200)})
    elif kind == "store":
        await c.store_artifact(rng.choice(mine), f"out-{rng.randrange(4)}.txt", rng.randbytes(rng.randint(64, 16384)))
    elif kind == "list_sessions":
        await c.list_sessions(tags=["soak"], page_size=20)
    else:
        await c.list_artifacts(rng.choice(mine), page_size=20)


async def _client(address: str, seed: int, deadline: float, tally: Tally) -> None:
    rng = random.Random(seed)
    kinds, weights = zip(*MIX, strict=True)
    mine: list[str] = []
    async with AsyncSessionClient(address, timeout=30) as c:
        for _ in range(MAX_OPS_PER_CLIENT):
            if time.monotonic() >= deadline:
                return
            kind = rng.choices(kinds, weights)[0]
            started = time.perf_counter()
            try:
                await _op(c, kind, mine, rng)
            except Exception as error:  # noqa: BLE001 - every error is counted and reported
                tally.errors.append(f"{kind}: {error!r}")
                continue
            tally.latencies.setdefault(kind, []).append(time.perf_counter() - started)


async def _soak(address: str, seconds: float) -> Tally:
    tally = Tally()
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(_client(address, n, deadline, tally) for n in range(CLIENTS)))
    return tally


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000)[int(q * 1000) - 1] if len(values) > 1 else values[0]


def test_soak_64_clients(server_factory: Callable[..., ServerProcess]) -> None:
    seconds = float(os.environ.get("LLMSPELL_SOAK_SECONDS", "10"))
    server = server_factory(
        env={
            "LLMSPELL_SESSION_MAX_SESSIONS": "10000000",
            "LLMSPELL_SESSION_RATE_LIMIT_GLOBAL": "0",
            "LLMSPELL_SESSION_RATE_LIMIT_PER_SESSION": "0",
        },
        args=["--log-format", "json", "--metrics-address", "127.0.0.1:0"],
    )
    started = time.monotonic()
    tally = asyncio.run(_soak(server.address, seconds))
    elapsed = time.monotonic() - started
    latencies = tally.all()
    p50, p99 = _percentile(latencies, 0.50) * 1000, _percentile(latencies, 0.99) * 1000
    print(
        f"\nsoak: {CLIENTS} clients, {elapsed:.1f} s, {len(latencies)} ops, {len(latencies) / elapsed:.0f} ops/s, "
        f"errors {len(tally.errors)}, p50 {p50:.2f} ms, p99 {p99:.2f} ms"
    )
    for kind, values in sorted(tally.latencies.items()):
        print(
            f"  {kind:<15} {len(values):>7} ops  p50 {_percentile(values, 0.5) * 1000:7.2f} ms  "
            f"p99 {_percentile(values, 0.99) * 1000:7.2f} ms"
        )
    assert not tally.errors, tally.errors[:10]
    assert len(latencies) >= CLIENTS * 10 and p99 < 5000
    ok = 0  # each worker counts its own calls (the shared backend runs servers as two workers)
    for address in metrics_addresses(server):
        served = scrape(address)
        ok += sum(v for k, v in served.items() if k.startswith("llmspell_rpc_requests_total") and 'code="OK"' in k)
    assert ok == len(latencies)  # the server counted exactly the calls the clients saw succeed
    assert server.terminate() == 0
    check_store(server.path)
