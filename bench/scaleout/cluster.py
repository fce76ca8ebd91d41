"""The scale-out deployment on this machine: a throwaway PostgreSQL (fsync on), SeaweedFS, three servers.

- PostgreSQL: ``llmspell_sessions.devcluster.postgres.PostgresCluster`` with ``fsync=True`` (commits wait
  for the WAL flush, as a deployment's would), unix socket only, deleted at the end.
- SeaweedFS: ``weed mini`` with signed requests (``tests/helpers/s3.py``, as ``bench/s3_blobs.py`` uses it).
- The servers, each ``--no-access-log`` with the limits of the load scenarios out of the way: the embedded
  RocksDB server (the ceiling of the session figures) and ``serve --backend postgres --blob-store s3`` with
  ``--workers 1`` and ``--workers 2``, each on its own database and bucket.

Nothing is pinned: PostgreSQL, SeaweedFS, the servers and the load generator share the machine's cores.
CPU is read from ``/proc`` for process trees (a server's supervisor and workers, PostgreSQL's postmaster
and backends), reaped children included.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmspell_sessions.devcluster.postgres import PostgresCluster, find_bin

from tests.helpers.s3 import SeaweedS3, find_weed

from ..framework import Context
from ..processes import UNLIMITED_SERVER_ENV, ServerProcess, running, session_server_args

EMBEDDED = "embedded RocksDB"
PG1 = "PG+S3, 1 worker"
PG2 = "PG+S3, 2 workers"
SERVERS = (EMBEDDED, PG1, PG2)
PG_WORKERS = {PG1: 1, PG2: 2}
DURABILITY = ("fsync", "synchronous_commit", "full_page_writes")


def missing() -> list[str]:
    """Why the deployment cannot start here (empty when it can)."""
    reasons = [
        f"PostgreSQL's {name} not found (make cluster-deps)" for name in ("initdb", "pg_ctl") if not find_bin(name)
    ]
    if find_weed() is None:
        reasons.append("SeaweedFS's weed not found (make cluster-deps, or copy .tools/bin/weed)")
    reasons += [
        f"python package {name} missing" for name in ("psycopg", "obstore") if not importlib.util.find_spec(name)
    ]
    return reasons


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def tree_cpu_seconds(root: int) -> float:
    """User + system CPU of a process and its live descendants, with the children each has reaped."""
    parents: dict[int, int] = {}
    spent: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = _stat(int(entry.name))
        except (FileNotFoundError, ProcessLookupError):
            continue  # it exited while we looked
        parents[int(entry.name)] = int(fields[1])
        spent[int(entry.name)] = sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in tree]
        tree.update(children)
        frontier += children
    return sum(spent.get(pid, 0) for pid in tree) / os.sysconf("SC_CLK_TCK")


@dataclass
class Cluster:
    """The running deployment: the servers by label, the DSN maker, the object store, CPU meters."""

    postgres: PostgresCluster
    s3: SeaweedS3
    servers: dict[str, ServerProcess]
    buckets: dict[str, str]
    settings: dict[str, str]  # PostgreSQL's durability settings, as the server reports them

    def meter(self, label: str) -> Callable[[], float]:
        """The CPU of one server's process tree (the supervisor and its workers)."""
        pid = self.servers[label].proc.pid
        return lambda: tree_cpu_seconds(pid)

    def others(self) -> dict[str, Callable[[], float]]:
        """CPU meters of PostgreSQL (postmaster and every backend) and SeaweedFS."""
        postmaster = int((self.postgres.data / "postmaster.pid").read_text().split()[0])
        assert self.s3.process is not None
        weed = self.s3.process.pid
        return {"postgres": lambda: tree_cpu_seconds(postmaster), "seaweedfs": lambda: tree_cpu_seconds(weed)}

    def info(self) -> dict[str, Any]:
        return {
            "postgres": f"throwaway cluster, unix socket, {', '.join(f'{k}={v}' for k, v in self.settings.items())}",
            "object_store": "SeaweedFS weed mini, signed requests, loopback",
            "servers": {
                EMBEDDED: "serve --backend rocksdb --no-access-log",
                **{
                    label: f"serve --backend postgres --blob-store s3 --workers {n} --no-access-log"
                    for label, n in PG_WORKERS.items()
                },
            },
            "pinning": "none: PostgreSQL, SeaweedFS, the servers and the load generator share every core",
            "limits": "rate limits off, session and artifact limits out of reach (UNLIMITED_SERVER_ENV)",
        }


def _pg_server_args(store: Path, dsn: str, s3: SeaweedS3, bucket: str, workers: int) -> list[str]:
    return [
        "-m", "llmspell_sessions", "serve", "--address", "127.0.0.1:0", "--path", str(store),
        "--backend", "postgres", "--postgres-dsn", dsn, "--blob-store", "s3", "--s3-endpoint", s3.endpoint,
        "--s3-bucket", bucket, "--workers", str(workers), "--no-access-log",
    ]  # fmt: skip


@contextmanager
def cluster(ctx: Context) -> Iterator[Cluster]:
    """Starts PostgreSQL, SeaweedFS and the three servers; stops everything, servers first, on exit."""
    weed = find_weed()
    assert weed is not None
    cwd = ctx.tempdir("scaleout")
    with ExitStack() as stack:
        ctx.progress.step("starting PostgreSQL (fsync on) and SeaweedFS")
        postgres = PostgresCluster(fsync=True).start()
        stack.callback(postgres.stop)
        s3 = SeaweedS3(weed).start()
        stack.callback(s3.destroy)
        env = {**UNLIMITED_SERVER_ENV, **s3.env()}
        servers = {
            EMBEDDED: stack.enter_context(running(session_server_args(cwd / "rocksdb", access_log=False), env, cwd))
        }
        buckets = {}
        for label, workers in PG_WORKERS.items():
            ctx.progress.step(f"starting {label}")
            buckets[label] = f"scaleout-pg{workers}"
            dsn = postgres.new_database(f"scaleout_pg{workers}")
            args = _pg_server_args(cwd / f"pg{workers}", dsn, s3, buckets[label], workers)
            servers[label] = stack.enter_context(running(args, env, cwd))
        yield Cluster(postgres, s3, servers, buckets, durability(postgres))


def durability(postgres: PostgresCluster) -> dict[str, str]:
    """fsync, synchronous_commit and full_page_writes as the server has them."""
    import psycopg

    with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
        return {name: str(conn.execute(f"SHOW {name}").fetchone()[0]) for name in DURABILITY}  # type: ignore[index]
