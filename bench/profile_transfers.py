"""Where a big upload's and download's time goes on the server: py-spy over the real server's threads.

Usage: ``python -m bench.profile_transfers [--mib 100] [--kind random|json] [--uploads 3] [--py-spy PATH]``.
Starts the real server (RocksDB, temp dir, pinned like the benchmarks), attaches ``py-spy record``
(all threads, GIL-holding or not, raw collapsed stacks) while the blocking client uploads ``--uploads``
new artifacts of ``--mib`` MiB and downloads each once, then prints the share of the server's sampled
time per leaf function and per top-level stage. py-spy is not a dependency: install it anywhere
(``python3 -m venv /tmp/pyspy && /tmp/pyspy/bin/pip install py-spy``) and pass ``--py-spy`` or put it on
PATH. (cProfile, as in ``bench.profiling``, sees only the event-loop thread, not the worker threads
where chunking, hashing and compression run.) Writes ``bench/results/profile-transfers-<stamp>.txt``.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from . import payloads
from .processes import running, session_server_args
from .transfer import ARTIFACT_SERVER_ENV, MIB, pieces, pin, pinning, verify_download

ROOT = Path(__file__).resolve().parent.parent


# leaves where a thread waits (py-spy's idle detection misses them when it stops the process to sample)
IDLE = (
    "concurrent/futures/thread.py:81",
    "EpollSelector.select",
    "QueueListener.dequeue",
    "Condition.wait",
    "Sweeper._run",
    "Event.wait",
    "Thread.run (threading.py:982)",
)


def report(raw: Path, top: int) -> str:
    leaves: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        if any(marker in frames[-1] for marker in IDLE):
            continue
        total += n
        leaves[frames[-1]] += n
        stage = next((f for f in reversed(frames) if "llmspell_sessions" in f or "lz4" in f or "blake3" in f), "")
        threads[stage.split(" (")[0] or frames[-1].split(" (")[0]] += n
    lines = [
        f"{total} busy samples of the server (all threads; waits in queues, epoll, conditions and grpc's "
        "own C threads left out)",
        "",
        "## by leaf function (self time; a Python frame's share includes the C "
        "code it calls: grpc's Cython core, protobuf, blake3, lz4)",
    ]
    for name, n in leaves.most_common(top):
        lines.append(f"{100 * n / total:6.1f}%  {name}")
    lines += ["", "## by innermost llmspell_sessions frame (time of the calls it makes included)"]
    for name, n in threads.most_common(15):
        lines.append(f"{100 * n / total:6.1f}%  {name}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_transfers", description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=100)
    parser.add_argument("--kind", choices=("random", "json"), default="random")
    parser.add_argument("--uploads", type=int, default=3)
    parser.add_argument("--py-spy", default=shutil.which("py-spy") or "/tmp/pyspy-venv/bin/py-spy")
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    if not Path(args.py_spy).exists():
        raise SystemExit(f"py-spy not found at {args.py_spy}: see this module's docstring")
    from llmspell_sessions.client import SessionClient
    from llmspell_sessions.client._artifact_api import make_header

    size = args.mib * MIB
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    parts = []
    with tempfile.TemporaryDirectory(prefix="profile-transfers-") as tmp:
        cwd = Path(tmp)
        with (
            running(session_server_args(cwd / "store"), ARTIFACT_SERVER_ENV, cwd) as server,
            SessionClient(server.address, timeout=600) as client,
        ):
            plan = pinning()
            if plan:
                pin(server.proc.pid, plan[1])
            sid = client.create_session(name="profile")
            client.upload_artifact(make_header(sid, "warm"), pieces(payloads.make(args.kind, 4 * MIB, 0)))
            data = [payloads.make(args.kind, size, seed) for seed in range(1, args.uploads + 1)]
            for phase in ("upload", "download"):
                out = cwd / f"{phase}.txt"
                spy = subprocess.Popen(
                    [
                        args.py_spy,
                        "record",
                        "--pid",
                        str(server.proc.pid),
                        "--threads",
                        "--rate",
                        str(args.rate),
                        "--format",
                        "raw",
                        "--output",
                        str(out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                )
                time.sleep(1.0)
                start = time.perf_counter()
                if phase == "upload":
                    artifacts = [
                        client.upload_artifact(make_header(sid, f"a{i}"), pieces(d)) for i, d in enumerate(data)
                    ]
                else:
                    for a in artifacts:
                        verify_download(client, a.artifact_id, a.content_digest, size)
                seconds = time.perf_counter() - start
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
                title = (
                    f"# server, {phase} of {args.uploads} x {args.mib} MiB {args.kind}: "
                    f"{args.uploads * args.mib / seconds:.0f} MiB/s on the client's clock"
                )
                parts.append(title + "\n" + (report(out, args.top) if out.exists() else "no py-spy output"))
    text = "\n\n".join(parts) + "\n"
    path = ROOT / "bench" / "results" / f"profile-transfers-{stamp}.txt"
    path.write_text(text)
    print(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
