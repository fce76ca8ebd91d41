"""Micro-benchmark of content-defined chunking: the native twin next to its peers and ceiling.

Measures MiB/s on the same random data, in one run: the native twin (``chunk_cuts`` and
``StreamChunker`` fed 1 MiB messages), the pure-Python twin, pyfastcdc (the PyPI Cython FastCDC
2020, same sizes, its own gear table) and raw BLAKE3 (the next stage of the hot path). Prints each
figure with its ratio to the others and writes JSON to ``bench/results/chunking-<timestamp>.json``.

Usage: ``python bench/chunking.py [--mib 64] [--pure-mib 64] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server"))

from llmspell_sessions import hotpath  # noqa: E402

MIB = 1 << 20
MESSAGE = 1 << 20


def best_seconds(run: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs in CPU time of this thread (time descheduled does not count)."""
    times = []
    for _ in range(repeat):
        start = time.thread_time()
        run()
        times.append(time.thread_time() - start)
    return min(times)


def twin_runner(name: str, data: bytes) -> Callable[[], object] | None:
    """``find_cuts`` of one twin at the default sizes, or None if that twin is missing."""
    try:
        twin = __import__(f"llmspell_sessions.hotpath._{name}", fromlist=["find_cuts"])
    except ImportError:
        return None
    params = hotpath.chunk_params()
    return lambda: twin.find_cuts(memoryview(data), *params, True)


def stream_runner(data: bytes) -> Callable[[], object]:
    """The public StreamChunker fed 1 MiB messages (the server's upload path)."""
    view = memoryview(data)

    def run() -> int:
        chunker, count = hotpath.StreamChunker(), 0
        for offset in range(0, len(view), MESSAGE):
            count += len(chunker.feed(view[offset : offset + MESSAGE]))
        return count + len(chunker.finish())

    return run


def pyfastcdc_runner(data: bytes) -> Callable[[], object] | None:
    """pyfastcdc at the same sizes, or None if it is not installed."""
    try:
        from pyfastcdc import FastCDC
    except ImportError:
        return None
    chunker = FastCDC(65536, min_size=16384, max_size=262144, normalized_chunking=1)
    return lambda: sum(1 for _ in chunker.cut_buf(data))


def blake3_runner(data: bytes) -> Callable[[], object] | None:
    """One-thread BLAKE3 of the whole buffer (the ceiling the chunker should not fall far below)."""
    try:
        from blake3 import blake3
    except ImportError:
        return None
    return lambda: blake3(data).digest()


def measure(args: argparse.Namespace) -> dict[str, float]:
    """MiB/s of every available contender."""
    data = os.urandom(args.mib * MIB)
    pure_data = data[: args.pure_mib * MIB]
    contenders: list[tuple[str, Callable[[], object] | None, bytes, int]] = [
        ("native", twin_runner("native", data), data, args.repeat),
        (
            "native-stream-1MiB",
            stream_runner(data) if hotpath.IMPLEMENTATION == "native" else None,
            data,
            args.repeat,
        ),
        ("pure", twin_runner("pure", pure_data), pure_data, 1),
        ("pyfastcdc", pyfastcdc_runner(data), data, args.repeat),
        ("blake3", blake3_runner(data), data, args.repeat),
    ]
    results = {}
    for name, run, payload, repeat in contenders:
        if run is None:
            print(f"{name:>20}: not available")
            continue
        results[name] = len(payload) / MIB / best_seconds(run, repeat)
    return results


def report(results: dict[str, float]) -> dict[str, dict[str, float]]:
    """Prints each figure with its ratio to every other; returns the ratios."""
    ratios: dict[str, dict[str, float]] = {}
    for name, speed in results.items():
        ratios[name] = {other: speed / results[other] for other in results if other != name}
        cells = "  ".join(f"{r:7.3g}x {other}" for other, r in ratios[name].items())
        print(f"{name:>20}: {speed:9.1f} MiB/s   {cells}")
    return ratios


def main(argv: list[str] | None = None) -> int:
    """Runs the benchmark and writes the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64, help="random data size in MiB (default 64)")
    parser.add_argument("--pure-mib", type=int, default=64, help="data for the slow pure twin (default 64)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender, best kept (pure: 1)")
    args = parser.parse_args(argv)
    args.pure_mib = min(args.pure_mib, args.mib)
    print(f"chunking {args.mib} MiB of random data (pure twin: {args.pure_mib} MiB), sizes 16K/64K/256K")
    results = measure(args)
    ratios = report(results)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out: dict[str, Any] = {
        "benchmark": "chunking",
        "timestamp": stamp,
        "machine": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
        },
        "data_mib": args.mib,
        "pure_data_mib": args.pure_mib,
        "chunking": hotpath.CHUNKING,
        "mib_per_s": results,
        "ratios": ratios,
    }
    path = ROOT / "bench" / "results" / f"chunking-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
