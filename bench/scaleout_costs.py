"""Per-operation costs of one frontend over PostgreSQL + an object store, the inputs of docs/scale-out.md.

Starts a throwaway PostgreSQL cluster (fsync on, ``log_statement = all``), SeaweedFS
(``weed mini`` with its Prometheus metrics on) and one real server
(``serve --backend postgres --blob-store s3``), then runs ``--calls`` calls of each operation of an
agent workload, one at a time, through the Python ``SessionClient``, and records per call:

- statements: lines of the statement log in the server's database (BEGIN/COMMIT, advisory locks and
  ``pg_notify`` counted apart; statements of one pipelined ``executemany`` share a round trip);
  transactions: distinct virtual transaction ids (``%v``), write transactions: distinct xids (``%x``).
  The log, not ``pg_stat_database.xact_commit``: that counts the pool's idle-connection checks (empty
  queries, every second) and reaches the view only when a backend flushes its stats;
- WAL: ``pg_wal_lsn_diff`` of ``pg_current_wal_lsn()``, and from ``pg_waldump --stats`` of the same
  range the records and the bytes of full-page images (a CHECKPOINT runs before each operation, so
  every window starts alike: full-page images are at their post-checkpoint worst);
- object-store requests by type: SeaweedFS's ``SeaweedFS_s3_request_seconds_count`` for the bucket;
- CPU: the server process's utime+stime (/proc/PID/stat) and the sum over the postmaster and its
  children, in µs per call; p50/p99 latency per call for context.

Every figure has the idle background of the same duration subtracted (the 1 s health probe, the
timeout sweeper), measured first; the idle rates are reported as the fixed cost of one frontend. The
ceiling printed beside: a bare one-row INSERT committed on its own (fsync'd) through psycopg.

Usage: ``.venv/bin/python -m bench.scaleout_costs [--calls 500]``; writes
``bench/results/scaleout-costs-<UTC>.json``. Needs ``make cluster-deps`` (initdb, .tools/bin/weed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "server"), str(ROOT)]

from llmspell_sessions.client import SessionClient  # noqa: E402
from llmspell_sessions.devcluster.postgres import PostgresCluster, find_bin  # noqa: E402

from tests.helpers.s3 import SeaweedS3, _free_ports, find_weed  # noqa: E402
from tests.helpers.server import ServerProcess  # noqa: E402

BUCKET = "scaleout"
DB = "sessions"
TICK = os.sysconf("SC_CLK_TCK")
KIB = 1024


class MeteredSeaweed(SeaweedS3):
    """SeaweedFS with its Prometheus metrics on a loopback port (request counts by bucket and type)."""

    def __init__(self, binary: str) -> None:
        super().__init__(binary)
        self.metrics_port = _free_ports(1)[0]

    def _command(self) -> list[str]:
        return [*super()._command(), f"-metricsPort={self.metrics_port}", "-metricsIp=127.0.0.1"]

    def requests(self) -> dict[str, float]:
        """Requests so far on BUCKET, by type (PUT, GET, DELETE, ...)."""
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()
        pattern = re.compile(r'^SeaweedFS_s3_request_seconds_count\{bucket="' + BUCKET + r'",type="(\w+)"\} (\S+)$')
        counts: dict[str, float] = {}
        for line in text.splitlines():
            match = pattern.match(line)
            if match:
                counts[match.group(1)] = counts.get(match.group(1), 0.0) + float(match.group(2))
        return counts


def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of the given processes (threads included), in seconds."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a backend that exited between listing and reading
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def children_of(parent: int) -> list[int]:
    """The pids whose parent is ``parent``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def classify(query: str) -> str:
    """A logged statement as one kind of statement."""
    text = query.strip().upper()
    for prefix, kind in (("BEGIN", "begin"), ("COMMIT", "commit"), ("ROLLBACK", "commit"), ("SET ", "set")):
        if text.startswith(prefix):
            return kind
    for needle, kind in (("PG_ADVISORY_XACT_LOCK", "lock"), ("PG_NOTIFY", "notify"), ("INSERT", "write"),
                         ("DELETE", "write"), ("UPDATE", "write")):  # fmt: skip
        if needle in text:
            return kind
    return "probe" if text == "SELECT 1" else "read"


_LOGGED = re.compile(r"^[^|]*\|" + DB + r"\|([^|]*)\|(\d+)\| LOG:  (?:statement|execute [^:]*): (.*)$")


def log_counts(text: str) -> dict[str, float]:
    """Statements by kind, transactions (distinct virtual xids, the health probe's left out) and write
    transactions (distinct xids) among the server database's lines of a log_statement=all log."""
    counts: dict[str, float] = {}
    vxids: dict[str, bool] = {}  # vxid -> whether it ran anything but the probe
    xids = set()
    for line in text.splitlines():
        match = _LOGGED.match(line)
        if not match:
            continue
        vxid, xid, kind = match.group(1), match.group(2), classify(match.group(3))
        counts["stmt_" + kind] = counts.get("stmt_" + kind, 0.0) + 1
        vxids[vxid] = vxids.get(vxid, False) or kind != "probe"
        if xid != "0":
            xids.add(xid)
    counts["transactions"] = float(sum(vxids.values()))
    counts["write_transactions"] = float(len(xids))
    return counts


class Meter:
    """Snapshots of every counter this benchmark reads; ``delta`` subtracts two of them."""

    def __init__(self, cluster: PostgresCluster, s3: MeteredSeaweed, server_pid: int) -> None:
        import psycopg

        self.cluster, self.s3, self.server_pid = cluster, s3, server_pid
        self.conn = psycopg.connect(cluster.dsn("postgres"), autocommit=True)
        self.postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
        self.log = cluster.root / "server.log"

    def checkpoint(self) -> None:
        self.conn.execute("CHECKPOINT")

    def snapshot(self) -> dict[str, float]:
        lsn = self.conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')").fetchone()
        assert lsn is not None
        snap = {"wal_bytes": float(lsn[0])}
        for kind, count in self.s3.requests().items():
            snap["s3_" + kind] = count
        snap["server_cpu"] = cpu_seconds([self.server_pid])
        snap["pg_cpu"] = cpu_seconds([self.postmaster, *children_of(self.postmaster)])
        snap["log_offset"] = float(self.log.stat().st_size)
        snap["time"] = time.monotonic()
        return snap

    def delta(self, before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
        """after - before for every counter, plus the statements logged in between."""
        changed = {key: after.get(key, 0.0) - before.get(key, 0.0) for key in after.keys() | before.keys()}
        changed.pop("log_offset")
        with self.log.open("rb") as log:
            log.seek(int(before["log_offset"]))
            text = log.read(int(after["log_offset"] - before["log_offset"])).decode(errors="replace")
        return changed | log_counts(text) | self.wal_stats(int(before["wal_bytes"]), int(after["wal_bytes"]))

    def wal_stats(self, start: int, end: int) -> dict[str, float]:
        """WAL records, and their bytes with and without full-page images, between two positions
        (pg_waldump --stats: exact, where pg_stat_wal shows a backend's counts only once it flushes them)."""
        if end <= start:
            return {"wal_records": 0.0, "wal_fpi_bytes": 0.0}
        lsn = [f"{p >> 32:X}/{p & 0xFFFFFFFF:X}" for p in (start, end)]
        command = [find_bin("pg_waldump") or "pg_waldump", "-p", str(self.cluster.data / "pg_wal"),
                   "-s", lsn[0], "-e", lsn[1], "--stats"]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, timeout=60).stdout
        match = re.search(r"^Total\s+(\d+)\s+(\d+)\s+\[[^]]*\]\s+(\d+)", out, re.MULTILINE)
        if match is None:
            return {}
        return {"wal_records": float(match.group(1)), "wal_fpi_bytes": float(match.group(3))}

    def close(self) -> None:
        self.conn.close()


def start_cluster() -> tuple[PostgresCluster, str]:
    """A throwaway cluster with fsync on, logging every statement with its database, virtual
    transaction id and xid; returns it and the DSN of the server's database."""
    import psycopg

    cluster = PostgresCluster(fsync=True).start()
    with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET log_statement = 'all'")
        conn.execute("ALTER SYSTEM SET log_line_prefix = '%m|%d|%v|%x| '")
        conn.execute("SELECT pg_reload_conf()")
    return cluster, cluster.ensure_database(DB)


def start_server(dsn: str, s3: MeteredSeaweed, path: Path) -> ServerProcess:
    env = {**s3.env(), "LLMSPELL_SESSION_MAX_SESSIONS": "1000000", "LLMSPELL_SESSION_RATE_LIMIT_PER_SESSION": "0",
           "LLMSPELL_SESSION_RATE_LIMIT_GLOBAL": "0", "LLMSPELL_SESSION_MAINTENANCE_INTERVAL": "3600"}  # fmt: skip
    args = ["--postgres-dsn", dsn, "--blob-store", "s3", "--s3-endpoint", s3.endpoint, "--s3-bucket", BUCKET]
    return ServerProcess(path, env=env, args=args, backend="postgres").start(timeout=60)


class Workload:
    """The calls of one agent workload, each a function of the call's index, over prepared sessions."""

    def __init__(self, client: SessionClient, calls: int) -> None:
        self.client, self.calls = client, calls
        self.sessions: list[str] = []
        self.new_artifacts: list[str] = []
        self.shared = os.urandom(64 * KIB)
        self.history: list[str] = []

    def operations(self) -> list[tuple[str, Callable[[int], object], Callable[[], None] | None]]:
        """(name, call, preparation) in the order they run; later ones use what earlier ones made."""
        return [
            ("CreateSession", self.create, None),
            ("GetSession", lambda i: self.client.get_session(self.session(i)), None),
            ("SetSessionState", lambda i: self.client.set_session_state(self.session(i), self.state(i)), None),
            ("AppendEvents (1)", lambda i: self.client.append_events(self.session(i), [self.event(i)]), None),
            ("ListEvents (50)", lambda i: self.client.list_events(self.history[i % 10], page_size=50),
             self.prepare_history),
            ("StoreArtifact 64 KiB new", self.store_new, None),
            ("StoreArtifact 64 KiB dedup", lambda i: self.client.store_artifact(self.session(i), f"dup-{i}",
                                                                               self.shared), self.prepare_shared),
            ("GetArtifact 64 KiB", lambda i: self.client.get_artifact(self.session(i), self.new_artifacts[i]), None),
            ("CreateCheckpoint", lambda i: self.client.create_checkpoint(self.session(i), f"c{i}"), None),
        ]  # fmt: skip

    def session(self, i: int) -> str:
        return self.sessions[i % len(self.sessions)]

    @staticmethod
    def state(i: int) -> dict[str, Any]:
        return {"turn": i, "note": "x" * 100}

    @staticmethod
    def event(i: int) -> dict[str, Any]:
        return {"type": "agent.turn", "payload": {"turn": i, "text": "t" * 160}}

    def create(self, i: int) -> None:
        self.sessions.append(self.client.create_session(name=f"agent-{i}", tags=["bench"]))

    def store_new(self, i: int) -> None:
        self.new_artifacts.append(self.client.store_artifact(self.session(i), f"new-{i}", os.urandom(64 * KIB)))

    def prepare_history(self) -> None:
        for _ in range(10):
            sid = self.client.create_session(name="history")
            self.client.append_events(sid, [self.event(k) for k in range(60)])
            self.history.append(sid)

    def prepare_shared(self) -> None:
        self.client.store_artifact(self.sessions[0], "shared", self.shared)


def per_call(delta: dict[str, float], idle: dict[str, float], calls: int) -> dict[str, float]:
    """Counters per call, less the idle background of the same duration."""
    seconds = delta["time"]
    costs = {}
    for key, value in delta.items():
        if key != "time":
            costs[key] = max(0.0, value - idle.get(key, 0.0) * seconds) / calls
    costs["server_cpu_us"] = costs.pop("server_cpu") * 1e6
    costs["pg_cpu_us"] = costs.pop("pg_cpu") * 1e6
    costs["statements"] = sum(v for k, v in costs.items() if k.startswith("stmt_") and k != "stmt_probe")
    return costs


def measure(
    meter: Meter, name: str, call: Callable[[int], object], calls: int, idle: dict[str, float]
) -> dict[str, Any]:
    """Runs one operation ``calls`` times between two settled snapshots (the caller settled the first)."""
    meter.checkpoint()
    before = meter.snapshot()
    latencies = []
    for i in range(calls):
        start = time.perf_counter()
        call(i)
        latencies.append(time.perf_counter() - start)
    wall = time.monotonic() - before["time"]
    costs = per_call(meter.delta(before, meter.snapshot()), idle, calls)
    latencies.sort()
    costs.update(p50_us=statistics.median(latencies) * 1e6, p99_us=latencies[int(0.99 * (calls - 1))] * 1e6,
                 calls_per_s=calls / wall)  # fmt: skip
    print(f"  {name}: {calls} calls in {wall:.1f} s", flush=True)
    return {"operation": name, **costs}


def idle_rates(meter: Meter, seconds: float) -> dict[str, float]:
    """Every counter's rate per second with no calls: the fixed background of one frontend."""
    before = meter.snapshot()
    time.sleep(seconds)
    delta = meter.delta(before, meter.snapshot())
    return {key: value / delta["time"] for key, value in delta.items() if key != "time"}


def bare_commits(dsn: str, calls: int) -> dict[str, float]:
    """The ceiling: one-row INSERTs, each its own fsync'd commit, one connection, one at a time."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bare (k bigint PRIMARY KEY, v bytea)")
        lsn = conn.execute("SELECT pg_current_wal_lsn()").fetchone()
        start = time.perf_counter()
        for i in range(calls):
            conn.execute("INSERT INTO bare VALUES (%s, %s)", (i, b"x" * 100))
        seconds = time.perf_counter() - start
        wal = conn.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)", lsn).fetchone()
        conn.execute("DROP TABLE bare")
    assert wal is not None
    return {"commits_per_s": calls / seconds, "latency_us": seconds / calls * 1e6, "wal_bytes": float(wal[0]) / calls}


def concurrent_commits(dsn: str, threads: int, seconds: float, notify: bool) -> float:
    """Commits/s of ``threads`` connections each committing one-row INSERTs (with a ``pg_notify`` in
    the transaction when ``notify``): group commit lets concurrent commits share an fsync, but a
    transaction that notified holds a cluster-wide lock from its pre-commit to its end, fsync included."""
    import threading

    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS commits (k bigint PRIMARY KEY, v bytea)")
        conn.execute("TRUNCATE commits")
    deadline = time.monotonic() + seconds
    done = [0] * threads

    def worker(n: int) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while time.monotonic() < deadline:
                with conn.transaction():
                    conn.execute("INSERT INTO commits VALUES (%s, %s)", (n << 40 | done[n], b"x" * 100))
                    if notify:
                        conn.execute("SELECT pg_notify('bench', 'x')")
                done[n] += 1

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return sum(done) / seconds


COLUMNS = (
    ("operation", "{:<27}", "operation"),
    ("statements", "{:>6.1f}", "stmts"),
    ("transactions", "{:>5.1f}", "xacts"),
    ("write_transactions", "{:>5.2f}", "w-tx"),
    ("stmt_lock", "{:>5.1f}", "locks"),
    ("wal_bytes", "{:>7.0f}", "WAL B"),
    ("wal_fpi_bytes", "{:>6.0f}", "FPI B"),
    ("wal_records", "{:>5.1f}", "recs"),
    ("s3_PUT", "{:>5.2f}", "PUT"),
    ("s3_GET", "{:>5.2f}", "GET"),
    ("server_cpu_us", "{:>7.0f}", "fe µs"),
    ("pg_cpu_us", "{:>6.0f}", "pg µs"),
    ("p50_us", "{:>6.0f}", "p50µs"),
)


def table(rows: list[dict[str, Any]]) -> str:
    """The per-call costs as a fixed-width table."""
    header = " ".join(f"{title:>{len(fmt.format(0 if key != 'operation' else ''))}}" if key != "operation"
                      else f"{title:<27}" for key, fmt, title in COLUMNS)  # fmt: skip
    lines = [header]
    for row in rows:
        lines.append(" ".join(fmt.format(row.get(key, 0.0)) for key, fmt, _ in COLUMNS))
    return "\n".join(lines)


def run(calls: int, idle_seconds: float) -> dict[str, Any]:
    weed = find_weed()
    if weed is None:
        raise SystemExit("no weed binary: run `make cluster-deps` (or copy one to .tools/bin/weed)")
    cluster, dsn = start_cluster()
    s3 = MeteredSeaweed(weed).start()
    workdir = Path(tempfile.mkdtemp(prefix="scaleout-"))
    server = start_server(dsn, s3, workdir)
    try:
        assert server.process is not None
        meter = Meter(cluster, s3, server.process.pid)
        client = SessionClient(server.address)
        client.get_session(client.create_session(name="warm-up"))  # connections and pools up
        print(f"idle background ({idle_seconds:.0f} s) ...", flush=True)
        idle = idle_rates(meter, idle_seconds)
        workload = Workload(client, calls)
        rows = []
        for name, call, prepare in workload.operations():
            if prepare is not None:
                prepare()
            rows.append(measure(meter, name, call, calls, idle))
        ceiling = bare_commits(dsn, calls)
        for threads in (1, 8):
            for notify in (False, True):
                key = f"commits_per_s_{threads}_threads" + ("_notify" if notify else "")
                ceiling[key] = concurrent_commits(dsn, threads, 4.0, notify)
        client.close()
        meter.close()
    finally:
        server.stop()
        s3.destroy()
        cluster.stop()
    return {"calls": calls, "idle_per_s": idle, "operations": rows, "ceiling_bare_commit": ceiling}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--calls", type=int, default=500, help="calls per operation (default 500)")
    parser.add_argument("--idle", type=float, default=15.0, help="seconds of idle background measured first")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results"), help="directory of the JSON")
    args = parser.parse_args(argv)
    result = run(args.calls, args.idle)
    result["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0], "postgres_fsync": True}
    print()
    print(table(result["operations"]))
    idle, ceiling = result["idle_per_s"], result["ceiling_bare_commit"]
    statements, cpu_us = sum(v for k, v in idle.items() if k.startswith("stmt_")), idle.get("server_cpu", 0) * 1e6
    print(f"\nidle frontend, per second: {idle.get('transactions', 0):.2f} transactions, {statements:.2f} statements, "
          f"{cpu_us:.0f} µs frontend CPU, {idle.get('wal_bytes', 0):.0f} B of WAL")  # fmt: skip
    print(f"ceiling, bare one-row INSERT commits (fsync'd, one connection): {ceiling['commits_per_s']:.0f}/s, "
          f"{ceiling['latency_us']:.0f} µs each, {ceiling['wal_bytes']:.0f} WAL bytes each")  # fmt: skip
    print("concurrent one-row commits/s (group commit) — 1 thread: {:.0f}, with pg_notify {:.0f}; "
          "8 threads: {:.0f}, with pg_notify {:.0f}".format(
              *(ceiling[f"commits_per_s_{t}_threads{n}"] for t in (1, 8) for n in ("", "_notify"))))  # fmt: skip
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(args.out) / f"scaleout-costs-{stamp}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
