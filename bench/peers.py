"""The CAS peers: install them (idempotent), say which are there, start one on loopback.

Usage: ``python -m bench.peers install`` (or ``status``). Everything goes under ``bench/.peers/``
(git-ignored): BuildGrid from PyPI in its own venv (``buildgrid-venv``; BuildGrid >= 0.4.5 wants
Python >= 3.12, so the newest python3.13 / python3.12 found is used, else python3 and an older
BuildGrid), and bazel-remote built by ``go install`` into ``bench/.peers/bin``. A peer that cannot be
installed is reported with the installer's last lines; the benchmark then skips it with that reason.

* BuildGrid: ``bgd server start <config>`` with an in-memory LRU storage (2 GB) behind the CAS and
  ByteStream services, instance name "", insecure, on 127.0.0.1:<free port>, 16 MiB messages.
* bazel-remote: ``bazel-remote --dir <tmp> --max_size 10 --grpc_address 127.0.0.1:<port>
  --http_address 127.0.0.1:<port>``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PEERS = BENCH / ".peers"
BUILDGRID_VENV = PEERS / "buildgrid-venv"
BGD = BUILDGRID_VENV / "bin" / "bgd"
GOBIN = PEERS / "bin"
BAZEL_REMOTE = GOBIN / "bazel-remote"
BAZEL_REMOTE_MODULE = "github.com/buchgr/bazel-remote/v2@latest"  # the module path of releases >= v2
BUILDGRID_CONFIG = """\
server:
  - !channel
    address: "127.0.0.1:{port}"
    insecure-mode: true
grpc-server-options:
  grpc.so_reuseport: 0
  grpc.max_receive_message_length: 16777216
  grpc.max_send_message_length: 16777216
storages:
  - !lru-storage &main-storage
    size: 2GB
instances:
  - name: ""
    services:
      - !cas
        storage: *main-storage
      - !bytestream
        storage: *main-storage
"""


@dataclass
class Status:
    name: str
    installed: bool
    detail: str


def _tail(text: str, lines: int = 6) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def newest_python() -> str:
    for name in ("python3.13", "python3.12"):
        found = shutil.which(name)
        if found and subprocess.run([found, "-c", "pass"], capture_output=True).returncode == 0:
            return found
    return shutil.which("python3") or sys.executable


def install_buildgrid() -> Status:
    if BGD.exists():
        return status_buildgrid()
    PEERS.mkdir(parents=True, exist_ok=True)
    python = newest_python()
    steps = [
        [python, "-m", "venv", str(BUILDGRID_VENV)],
        [str(BUILDGRID_VENV / "bin" / "pip"), "install", "--quiet", "buildgrid"],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            shutil.rmtree(BUILDGRID_VENV, ignore_errors=True)
            return Status("buildgrid", False, f"{' '.join(step)} failed: {_tail(done.stdout + done.stderr)}")
    return status_buildgrid()


def status_buildgrid() -> Status:
    if not BGD.exists():
        return Status("buildgrid", False, f"not installed ({BGD} missing): run python -m bench.peers install")
    done = subprocess.run([str(BUILDGRID_VENV / "bin" / "pip"), "show", "buildgrid"], capture_output=True, text=True)
    version = next(
        (line.split(":", 1)[1].strip() for line in done.stdout.splitlines() if line.startswith("Version:")), "?"
    )
    return Status("buildgrid", True, f"buildgrid {version} in {BUILDGRID_VENV}")


def install_bazel_remote() -> Status:
    if BAZEL_REMOTE.exists():
        return status_bazel_remote()
    go = shutil.which("go")
    if go is None:
        return Status("bazel-remote", False, "no go toolchain on PATH")
    GOBIN.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [go, "install", BAZEL_REMOTE_MODULE],
        capture_output=True,
        text=True,
        env={**os.environ, "GOBIN": str(GOBIN)},
        timeout=900,
    )
    if done.returncode != 0:
        return Status("bazel-remote", False, f"go install {BAZEL_REMOTE_MODULE} failed: {_tail(done.stderr)}")
    return status_bazel_remote()


def status_bazel_remote() -> Status:
    if not BAZEL_REMOTE.exists():
        return Status(
            "bazel-remote", False, f"not installed ({BAZEL_REMOTE} missing): run python -m bench.peers install"
        )
    return Status("bazel-remote", True, str(BAZEL_REMOTE))


def install() -> list[Status]:
    return [install_buildgrid(), install_bazel_remote()]


def status() -> list[Status]:
    return [status_buildgrid(), status_bazel_remote()]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PeerProcess:
    """A peer server subprocess (its output to a log file), stopped by its pid."""

    def __init__(self, name: str, args: list[str], cwd: Path, address: str) -> None:
        self.name, self.address = name, address
        self.log = cwd / f"{name}.log"
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(args, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until the gRPC port accepts a channel; RuntimeError with the log's tail if it exits or stays shut."""
        import grpc

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with grpc.insecure_channel(self.address) as channel:
                try:
                    grpc.channel_ready_future(channel).result(timeout=1)
                    return
                except grpc.FutureTimeoutError:
                    continue
        self.stop()
        raise RuntimeError(f"{self.name} did not start: {_tail(self.log.read_text(), 10)}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_buildgrid(cwd: Path) -> PeerProcess:
    port = free_port()
    config = cwd / "buildgrid.yml"
    config.write_text(BUILDGRID_CONFIG.format(port=port))
    peer = PeerProcess("buildgrid", [str(BGD), "server", "start", str(config)], cwd, f"127.0.0.1:{port}")
    peer.wait_ready()
    return peer


def start_bazel_remote(cwd: Path) -> PeerProcess:
    port, http = free_port(), free_port()
    (cwd / "bazel-remote").mkdir(exist_ok=True)
    args = [
        str(BAZEL_REMOTE),
        "--dir",
        str(cwd / "bazel-remote"),
        "--max_size",
        "10",
        "--grpc_address",
        f"127.0.0.1:{port}",
        "--http_address",
        f"127.0.0.1:{http}",
    ]
    peer = PeerProcess("bazel-remote", args, cwd, f"127.0.0.1:{port}")
    peer.wait_ready()
    return peer


STARTERS = {"buildgrid": start_buildgrid, "bazel-remote": start_bazel_remote}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.peers", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("install", "status"))
    args = parser.parse_args(argv)
    found = install() if args.command == "install" else status()
    for peer in found:
        print(f"{peer.name:13} {'ok' if peer.installed else 'MISSING':8} {peer.detail}")
    return 0 if all(p.installed for p in found) else 1


if __name__ == "__main__":
    sys.exit(main())
