"""Sessions sharded by id over N PostgreSQL primaries: how many active agents before the hottest saturates.

A pure-Python model (no servers), fed with the per-operation costs measured by
``bench.scaleout_costs`` (the newest ``bench/results/scaleout-costs-*.json``, or ``--costs FILE``):

- the workload: each active agent takes a turn every ``--turn-seconds`` on average; a turn is 2
  AppendEvents, 1 SetSessionState and, every 4th turn, a 10-200 KB artifact (``--dedup`` of them
  already stored: the dedup path), priced with the measured write transactions, statements, WAL bytes
  and PostgreSQL CPU per call (an artifact's object-store requests scale with its size / 64 KiB);
- skew: agents' activity is Zipf over their rank (exponent ``--zipf``), capped at ``--cap`` times the
  mean (an agent is bounded by its model's latency), sessions placed by a hash of their id;
- a primary's capacity (``--cores`` at ``--cpu-target`` utilisation, ``--wal-mbps`` of WAL,
  ``--commits-per-s``, and with ``--notify-in-commit`` ``1 s / --notify-commit-us`` notifying
  commits/s: a transaction that runs pg_notify holds a cluster-wide lock through its commit's WAL
  flush — how the costs were measured; the server now notifies after the commit instead);
- cross-shard work: with chunk refcounts kept globally and homed by digest, every chunk an artifact
  references writes one small transaction on the digest's home shard (priced as one SetSessionState),
  and popular digests (Zipf over ``--digests`` shared contents) make their home shard hotter; "local"
  keeps refcounts on the session's shard instead (no cross-shard work).

Prints, per N in 1, 2, 4, 8, 16: the most agents before the hottest shard reaches its limit, which
limit that is, the skew (hottest shard's load / the mean) and the same with refcounts homed by digest.
Usage: ``.venv/bin/python -m bench.sharding_sim [--costs FILE] [--turn-seconds 5] ...``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KIB = 1024
METRICS = ("write_transactions", "stmt_notify", "statements", "wal_bytes", "pg_cpu_us", "server_cpu_us",
           "s3_PUT", "s3_GET")  # fmt: skip

# Per call, from bench/results/scaleout-costs-20261205T*.json (500 calls each): used when no JSON is found.
DEFAULT_COSTS: dict[str, dict[str, float]] = {
    "SetSessionState": {"write_transactions": 1.0, "stmt_notify": 1.0, "statements": 14.0, "wal_bytes": 3159,
                        "pg_cpu_us": 1117, "server_cpu_us": 2283, "s3_PUT": 0.0, "s3_GET": 0.0},
    "AppendEvents (1)": {"write_transactions": 1.0, "stmt_notify": 1.0, "statements": 11.0, "wal_bytes": 2354,
                         "pg_cpu_us": 817, "server_cpu_us": 1945, "s3_PUT": 0.0, "s3_GET": 0.0},
    "StoreArtifact 64 KiB new": {"write_transactions": 3.29, "stmt_notify": 1.0, "statements": 48.3,
                                 "wal_bytes": 6227, "pg_cpu_us": 4006, "server_cpu_us": 7008, "s3_PUT": 1.31,
                                 "s3_GET": 0.0},
    "StoreArtifact 64 KiB dedup": {"write_transactions": 4.0, "stmt_notify": 1.0, "statements": 53.0,
                                   "wal_bytes": 6887, "pg_cpu_us": 3492, "server_cpu_us": 5438, "s3_PUT": 0.0,
                                   "s3_GET": 0.0},
}  # fmt: skip


def load_costs(path: str | None) -> tuple[dict[str, dict[str, float]], str]:
    """Per-call costs by operation, and where they came from."""
    if path is None:
        found = sorted((ROOT / "bench" / "results").glob("scaleout-costs-*.json"))
        if not found:
            return DEFAULT_COSTS, "built-in defaults"
        path = str(found[-1])
    rows = json.loads(Path(path).read_text())["operations"]
    return {row["operation"]: {m: float(row.get(m, 0.0)) for m in METRICS} for row in rows}, path


@dataclass(frozen=True)
class Workload:
    """What one active agent costs per second, on its session's shard and on digests' home shards."""

    per_agent: dict[str, float]
    """Load of one average agent on its session's shard, per second, by metric."""
    refcount_txn: dict[str, float]
    """One cross-shard refcount transaction (priced as one SetSessionState)."""
    chunk_refs: float
    """Chunk references written per average agent per second."""
    shared_share: float
    """Of those, the share that points at an already stored (shared) digest."""


def workload(costs: dict[str, dict[str, float]], args: argparse.Namespace) -> Workload:
    mean_kib = (10 + 200) / 2 * 1000 / KIB
    new, dedup = costs["StoreArtifact 64 KiB new"], costs["StoreArtifact 64 KiB dedup"]
    chunks = max(1.0, new["s3_PUT"] * mean_kib / 64)  # 64 KiB of new bytes made s3_PUT chunks
    turn = {}
    for metric in METRICS:
        artifact = (1 - args.dedup) * new[metric] + args.dedup * dedup[metric]
        if metric == "s3_PUT":
            artifact = (1 - args.dedup) * chunks
        turn[metric] = 2 * costs["AppendEvents (1)"][metric] + costs["SetSessionState"][metric] + artifact / 4
    rate = 1 / args.turn_seconds
    per_agent = {metric: value * rate for metric, value in turn.items()}
    per_agent["s3_bytes"] = (1 - args.dedup) * mean_kib * KIB / 4 * rate
    return Workload(per_agent, dict(costs["SetSessionState"]), chunks / 4 * rate, args.dedup)


def zipf_rates(agents: int, exponent: float, cap: float) -> list[float]:
    """Relative activity of each agent (mean 1): Zipf by rank, capped at ``cap`` times the mean."""
    weights = [k**-exponent for k in range(1, agents + 1)]
    scale = agents / sum(weights)
    rates = [min(cap, w * scale) for w in weights]
    mean = sum(rates) / agents
    return [r / mean for r in rates]


_HASHES: list[int] = []


def session_hashes(agents: int) -> list[int]:
    """A 64-bit hash of each agent's session id (computed once, extended as the count grows)."""
    for i in range(len(_HASHES), agents):
        _HASHES.append(hash_of(f"session-{i}"))
    return _HASHES[:agents]


def hash_of(name: str) -> int:
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big")


def shard_of(name: str, shards: int) -> int:
    return hash_of(name) % shards


def shard_loads(agents: int, shards: int, args: argparse.Namespace) -> list[float]:
    """Each shard's share of the agents' activity, in average agents (sums to ``agents``)."""
    loads = [0.0] * shards
    for h, rate in zip(session_hashes(agents), zipf_rates(agents, args.zipf, args.cap), strict=True):
        loads[h % shards] += rate
    return loads


def digest_shares(shards: int, args: argparse.Namespace) -> tuple[list[float], float]:
    """Each shard's share of the references to shared digests (Zipf popularity over ``--digests``
    contents, each homed by its digest), and the share of the most popular digest."""
    weights = [k**-args.digest_zipf for k in range(1, args.digests + 1)]
    total = sum(weights)
    shares = [0.0] * shards
    for k, weight in enumerate(weights):
        shares[shard_of(f"digest-{k}", shards)] += weight / total
    return shares, weights[0] / total


def capacity(args: argparse.Namespace) -> dict[str, float]:
    """What one primary sustains per second, by metric (the stated reference machine)."""
    return {
        "pg_cpu_us": args.cores * args.cpu_target * 1e6 * args.cpu_speedup,
        "wal_bytes": args.wal_mbps * 1e6,
        "stmt_notify": 1e6 / args.notify_commit_us if args.notify_in_commit else float("inf"),
        "write_transactions": args.commits_per_s,
    }


def hottest(agents: int, shards: int, w: Workload, args: argparse.Namespace, homed: bool) -> tuple[float, str, float]:
    """(highest utilisation of any shard and resource, that resource, the skew) for ``agents`` agents."""
    loads = shard_loads(agents, shards, args)
    mean = agents / shards
    cap = capacity(args)
    shares, _ = digest_shares(shards, args) if homed else ([0.0] * shards, 0.0)
    worst, which, skew = 0.0, "", max(loads) / mean
    for s in range(shards):
        extra = 0.0
        if homed and shards > 1:  # each chunk reference: one transaction on its digest's home shard
            new_refs = agents * w.chunk_refs * (1 - w.shared_share) / shards
            extra = new_refs + agents * w.chunk_refs * w.shared_share * shares[s]
        for metric, limit in cap.items():
            used = loads[s] * w.per_agent[metric] + extra * w.refcount_txn[metric]
            if metric == "stmt_notify" and homed:
                used -= extra * w.refcount_txn[metric]  # a refcount transaction wakes no subscriber
            if used / limit > worst:
                worst, which = used / limit, metric
    return worst, which, skew


def max_agents(shards: int, w: Workload, args: argparse.Namespace, homed: bool) -> tuple[int, str, float]:
    """The most agents before the hottest shard reaches 100% of a limit (bisection on the agent count)."""
    low, high = 1, 1
    while hottest(high, shards, w, args, homed)[0] < 1.0:
        low, high = high, high * 2
    while high - low > max(1, low // 200):
        middle = (low + high) // 2
        if hottest(middle, shards, w, args, homed)[0] < 1.0:
            low = middle
        else:
            high = middle
    _, which, skew = hottest(low, shards, w, args, homed)
    return low, which, skew


def run(args: argparse.Namespace) -> dict[str, Any]:
    costs, source = load_costs(args.costs)
    w = workload(costs, args)
    rows = []
    for shards in (1, 2, 4, 8, 16):
        local, limit, skew = max_agents(shards, w, args, homed=False)
        homed, homed_limit, _ = max_agents(shards, w, args, homed=True)
        rows.append({"shards": shards, "max_agents": local, "limit": limit, "skew": skew,
                     "max_agents_refcounts_by_digest": homed, "limit_refcounts_by_digest": homed_limit})  # fmt: skip
    _, top_digest = digest_shares(1, args)
    hot_row = rows[-1]["max_agents_refcounts_by_digest"] * w.chunk_refs * w.shared_share * top_digest
    return {"hottest_digest_updates_per_s": hot_row,
            "source": source, "per_agent_per_s": w.per_agent, "capacity": capacity(args), "rows": rows,
            "hottest_digest_share": top_digest, "chunk_refs_per_agent_per_s": w.chunk_refs}  # fmt: skip


NAMES = {
    "pg_cpu_us": "PG CPU",
    "wal_bytes": "WAL MB/s",
    "stmt_notify": "NOTIFY commits",
    "write_transactions": "commits",
}


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    per, cap = result["per_agent_per_s"], result["capacity"]
    lines = [
        f"costs: {result['source']}",
        f"one agent (a turn every {args.turn_seconds:g} s): {per['write_transactions']:.2f} write commits/s, "
        f"{per['stmt_notify']:.2f} NOTIFY commits/s, {per['statements']:.1f} statements/s, "
        f"{per['wal_bytes'] / 1e3:.2f} kB/s WAL, {per['pg_cpu_us'] / 1e3:.2f} ms/s PG CPU, "
        f"{per['server_cpu_us'] / 1e3:.2f} ms/s frontend CPU, {per['s3_PUT']:.3f} PUT/s, "
        f"{per['s3_bytes'] / 1e3:.1f} kB/s to the object store",
        f"one primary: {cap['pg_cpu_us'] / 1e6:.1f} cores of CPU, {cap['wal_bytes'] / 1e6:.0f} MB/s WAL, "
        f"{cap['stmt_notify']:.0f} NOTIFY commits/s, {cap['write_transactions']:.0f} commits/s",
        f"activity: Zipf {args.zipf:g} over agents capped at {args.cap:g}x the mean; shared digests: Zipf "
        f"{args.digest_zipf:g} over {args.digests}, the most popular "
        f"{result['hottest_digest_share']:.1%} of references to them "
        f"({result['hottest_digest_updates_per_s']:.0f} refcount updates/s of one row at 16 shards' most agents)",
        "",
        f"{'shards':>6} {'max agents':>11} {'limit':>15} {'skew':>6} {'refcounts by digest':>20} {'limit':>15}",
    ]  # fmt: skip
    for row in result["rows"]:
        local = f"{row['shards']:>6} {row['max_agents']:>11,} {NAMES[row['limit']]:>15} {row['skew']:>6.2f}"
        homed = f"{row['max_agents_refcounts_by_digest']:>20,} {NAMES[row['limit_refcounts_by_digest']]:>15}"
        lines.append(f"{local} {homed}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add = parser.add_argument
    add("--costs", help="a scaleout-costs JSON (default: the newest in bench/results/)")
    add("--turn-seconds", type=float, default=5.0, help="mean seconds between an agent's turns (default 5)")
    add("--dedup", type=float, default=0.25, help="share of artifacts already stored (default 0.25)")
    add("--zipf", type=float, default=1.0, help="Zipf exponent of agents' activity by rank (default 1.0)")
    add("--cap", type=float, default=10.0, help="most active agent, times the mean (default 10)")
    add("--digests", type=int, default=10_000, help="distinct shared contents (default 10,000)")
    add("--digest-zipf", type=float, default=1.0, help="Zipf exponent of their popularity (default 1.0)")
    add("--cores", type=float, default=32, help="cores of one primary (default 32)")
    add("--cpu-target", type=float, default=0.7, help="CPU utilisation a primary may reach (default 0.7)")
    add("--cpu-speedup", type=float, default=1.0, help="server core ÷ this box's core, for the measured µs")
    add("--wal-mbps", type=float, default=100.0, help="WAL MB/s one primary and its standby sustain (default 100)")
    add("--notify-commit-us", type=float, default=500.0, help="µs a notifying commit holds the lock (default 500)")
    add(
        "--notify-in-commit",
        action="store_true",
        help="notices sent inside the write transaction (as measured; the server now sends them after it)",
    )
    add("--commits-per-s", type=float, default=20_000, help="write commits/s one primary sustains (default 20,000)")
    add("--json", action="store_true", help="print the result as JSON instead of a table")
    args = parser.parse_args(argv)
    result = run(args)
    print(json.dumps(result, indent=2) if args.json else report(result, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
