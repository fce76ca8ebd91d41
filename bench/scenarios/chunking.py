"""The chunker (``bench/chunking.py``'s contenders) as a scenario: MiB/s per run, interleaved.

Native FastCDC, the same fed through StreamChunker in 1 MiB messages, the pure-Python twin (on a
smaller slice: it is ~200x slower), pyfastcdc (the PyPI peer) and one-thread BLAKE3 (the next stage
of the hot path, the ceiling the chunker should not fall far below). The contenders run in turn,
A/B/C/D/E, ``repeat`` times; each run is one throughput sample.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from .. import chunking
from ..framework import THROUGHPUT, Context, Figure, Summary

NAME = "chunking"
ORDER = 40
MIB = 1 << 20
# figure -> (ceiling, why)
CEILINGS = {
    "native": "blake3",
    "native-stream-1MiB": "native",
    "pure": "native",
    "pyfastcdc": "blake3",
}


def contenders(mib: int, pure_mib: int) -> dict[str, tuple[Callable[[], object], int]]:
    """name -> (run, bytes per run) for the contenders that are installed."""
    data = os.urandom(mib * MIB)
    pure = data[: pure_mib * MIB]
    found = {
        "native": (chunking.twin_runner("native", data), len(data)),
        "native-stream-1MiB": (
            chunking.stream_runner(data) if chunking.hotpath.IMPLEMENTATION == "native" else None,
            len(data),
        ),
        "pure": (chunking.twin_runner("pure", pure), len(pure)),
        "pyfastcdc": (chunking.pyfastcdc_runner(data), len(data)),
        "blake3": (chunking.blake3_runner(data), len(data)),
    }
    return {name: (run, size) for name, (run, size) in found.items() if run is not None}


def run(ctx: Context) -> None:
    """Interleaved runs of every contender; one throughput figure each."""
    mib, pure_mib, repeat = (16, 2, 5) if ctx.quick else (64, 8, 9)
    runners = contenders(mib, pure_mib)
    samples: dict[str, list[float]] = {name: [] for name in runners}
    for number in range(repeat):
        ctx.progress.step(f"run {number + 1}/{repeat} of {', '.join(runners)}")
        for name, (runner, size) in runners.items():
            start = time.perf_counter()
            runner()
            samples[name].append(size / MIB / (time.perf_counter() - start))
    summaries = {name: Summary.of(values) for name, values in samples.items()}
    for name, summary in summaries.items():
        ceiling = CEILINGS.get(name, "")
        info = {
            "data_mib": pure_mib if name == "pure" else mib,
            "sizes": "16K/64K/256K",
            "implementation": chunking.hotpath.IMPLEMENTATION,
        }
        ctx.record(
            Figure(
                NAME,
                name,
                "random data",
                THROUGHPUT,
                summary,
                ceiling_name=ceiling,
                ceiling=summaries.get(ceiling),
                interleaved=True,
                info=info,
            )
        )
