"""``python -m llmspell_sessions.devcluster`` (``make cluster``): a scale-out deployment on one machine.

PostgreSQL on 127.0.0.1 (data kept in ``DIR/postgres`` between runs), SeaweedFS's S3 gateway (data in
``DIR/seaweedfs``; ``make cluster-deps`` builds ``.tools/bin/weed``), and frontends (``serve --backend
postgres --blob-store s3``) on the given addresses. Prints the addresses and the DSN, and stops everything, frontends
first, on Ctrl-C or SIGTERM. For development only: trust authentication, loopback addresses.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from .objectstore import SeaweedS3
from .postgres import PostgresCluster

_READY_TIMEOUT = 60.0
_BUCKET = "llmspell"


class Frontend:
    """One ``serve`` process; its log lines go to our stderr prefixed with its address."""

    def __init__(self, address: str, command: list[str], env: dict[str, str]) -> None:
        self.address = address
        self.ready = threading.Event()
        # A session of its own: Ctrl-C reaches only us, and we stop everything in order.
        self.process = subprocess.Popen(
            command, stderr=subprocess.PIPE, text=True, start_new_session=True, env={**os.environ, **env}
        )
        threading.Thread(target=self._forward, daemon=True).start()

    def _forward(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            sys.stderr.write(f"[{self.address}] {line}")
            if "serving on" in line:
                self.ready.set()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT
        while not self.ready.wait(0.1):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the frontend on {self.address} did not start (see its log above)")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m llmspell_sessions.devcluster", description=__doc__)
    parser.add_argument("--dir", default=".cluster", help="where the cluster keeps its data (default .cluster)")
    parser.add_argument("--pg-port", type=int, default=55432, help="PostgreSQL's port on 127.0.0.1 (default 55432)")
    parser.add_argument(
        "--frontends", nargs="+", default=["127.0.0.1:50051", "127.0.0.1:50052"], help="frontend addresses"
    )
    parser.add_argument("--workers", type=int, default=1, help="serve --workers of each frontend (default 1)")
    parser.add_argument("--weed", default=".tools/bin/weed", help="SeaweedFS binary (make cluster-deps builds it)")
    parser.add_argument("--s3-port", type=int, default=8333, help="the S3 gateway's port on 127.0.0.1 (default 8333)")
    return parser


def _serve_command(address: str, dsn: str, path: Path, workers: int, endpoint: str) -> list[str]:
    return [
        sys.executable, "-m", "llmspell_sessions", "serve", "--backend", "postgres", "--postgres-dsn", dsn,
        "--address", address, "--path", str(path), "--workers", str(workers),
        "--blob-store", "s3", "--s3-endpoint", endpoint, "--s3-bucket", _BUCKET,
    ]  # fmt: skip


def _wait_for_signal() -> None:
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    while not stopping.wait(0.5):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root = Path(args.dir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    postgres = PostgresCluster(root=root / "postgres", port=args.pg_port, fsync=True)
    weed = Path(args.weed)
    if not weed.is_file():
        print(f"error: {weed} not found: run `make cluster-deps`", file=sys.stderr)
        return 1
    store = SeaweedS3(weed, root / "seaweedfs", args.s3_port)
    frontends: list[Frontend] = []
    try:
        postgres.start()
        dsn = postgres.ensure_database("llmspell")
        store.start()
        for address in args.frontends:
            path = root / f"frontend-{address.rpartition(':')[2]}"
            command = _serve_command(address, dsn, path, args.workers, store.endpoint)
            frontends.append(Frontend(address, command, store.env()))
        for frontend in frontends:
            frontend.wait_ready()
        print(f"postgres:  {dsn}", flush=True)
        print(f"s3:        {store.endpoint} bucket {_BUCKET} (AWS_ACCESS_KEY_ID={store.access_key})", flush=True)
        for frontend in frontends:
            print(f"frontend:  {frontend.address}", flush=True)
        print("Ctrl-C stops the cluster", flush=True)
        _wait_for_signal()
        return 0
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        for frontend in frontends:
            frontend.stop()
        store.stop()
        postgres.stop()


if __name__ == "__main__":
    sys.exit(main())
