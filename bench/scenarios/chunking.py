"""The hot path's stages (``bench/chunking.py``'s contenders, plus LZ4) as a scenario: MiB/s per run.

On random data and on JSON-lines agent transcripts (``bench/payloads.py``): native FastCDC, the same
fed through StreamChunker in 1 MiB messages, the pure-Python twin (on a smaller slice: it is ~300x
slower), pyfastcdc (the PyPI peer), one-thread BLAKE3 (the next stage of the hot path, the ceiling
the chunker should not fall far below) and LZ4 block compression of 64 KiB blocks (what the pipeline
does to a new chunk). The contenders run in turn, A/B/C/..., ``repeat`` times; each run is one
throughput sample, timed in CPU time of the thread (``time.thread_time``): a run of ~10 ms that the
box's other work deschedules for a few ms would otherwise halve its figure, which is how the native
chunker's ratio to pyfastcdc once read 1.9x and then 0.54x (bench/README.md). Every stage here is
single-threaded work on the calling thread. Target: the native chunker at least 50x the pure twin.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import lz4.block

from .. import chunking, payloads
from ..framework import THROUGHPUT, Context, Figure, Summary, Target

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
LZ4_BLOCK = 64 * 1024
# the pure twin at most 1/50 of the native chunker, i.e. native >= 50x pure
PURE_TARGET = Target(">= 50x pure (native)", 1 / 50, relative=True)


def lz4_runner(data: bytes) -> Callable[[], object]:
    """LZ4 block compression of every 64 KiB block (store_size=False, as the pipeline calls it)."""
    view = memoryview(data)
    blocks = [view[offset : offset + LZ4_BLOCK] for offset in range(0, len(view), LZ4_BLOCK)]
    compress = lz4.block.compress
    return lambda: [compress(block, store_size=False) for block in blocks]


def contenders(mib: int, pure_mib: int, kind: str = "random") -> dict[str, tuple[Callable[[], object], int]]:
    """name -> (run, bytes per run) for the contenders that are installed."""
    data = os.urandom(mib * MIB) if kind == "random" else payloads.transcript(mib * MIB, seed=mib)
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
        "lz4 compress 64K": (lz4_runner(data), len(data)),
    }
    return {name: (run, size) for name, (run, size) in found.items() if run is not None}


def run(ctx: Context) -> None:
    """Interleaved runs of every contender on each kind of data; one throughput figure each."""
    mib, pure_mib, repeat = (16, 2, 5) if ctx.quick else (64, 8, 9)
    for kind, variant in (("random", "random data"), ("json", "json transcripts")):
        runners = contenders(mib, pure_mib, kind)
        samples: dict[str, list[float]] = {name: [] for name in runners}
        for number in range(repeat):
            ctx.progress.step(f"{kind}: run {number + 1}/{repeat} of {', '.join(runners)}")
            for name, (runner, size) in runners.items():
                start = time.thread_time()
                runner()
                samples[name].append(size / MIB / max(time.thread_time() - start, 1e-9))
        summaries = {name: Summary.of(values) for name, values in samples.items()}
        for name, summary in summaries.items():
            ceiling = CEILINGS.get(name, "")
            info = {
                "data_mib": pure_mib if name == "pure" else mib,
                "data": kind,
                "sizes": "16K/64K/256K",
                "implementation": chunking.hotpath.IMPLEMENTATION,
            }
            ctx.record(
                Figure(
                    NAME,
                    name,
                    variant,
                    THROUGHPUT,
                    summary,
                    ceiling_name=ceiling,
                    ceiling=summaries.get(ceiling),
                    target=PURE_TARGET if name == "pure" else None,
                    interleaved=True,
                    info=info,
                )
            )
