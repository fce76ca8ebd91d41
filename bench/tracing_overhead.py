"""What tracing costs on the engine's hot path: put_artifact of 1 MiB (new random bytes: chunk, hash,
try to compress, append, commit) and set_session_state (one commit), on the embedded SessionManager.

    python -m bench.tracing_overhead --mode off|on [--backend rocksdb|memory]

"off" is the default server (spans are shared no-ops); "on" records every span with the SDK (batch
processor, an exporter that drops them). Run it with an older checkout's interpreter for "before"
(``--mode off`` works where llmspell_sessions.tracing does not exist). Prints median microseconds
per operation (median and best round) over rounds of ``--ops`` operations.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

from llmspell_sessions import SessionManager
from llmspell_sessions.model import ArtifactType, UploadHeader


def _enable_tracing() -> None:
    from llmspell_sessions import tracing
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Drop(SpanExporter):
        def export(self, spans: object) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    tracing.enable(provider)


def _rounds(op: Callable[[int], None], ops: int, rounds: int) -> tuple[float, float]:
    """Median and best over rounds of the mean microseconds per op (the best is the least disturbed
    by other work on a shared machine)."""
    results = []
    for r in range(rounds):
        start = time.perf_counter()
        for i in range(ops):
            op(r * ops + i)
        results.append((time.perf_counter() - start) / ops * 1e6)
    return statistics.median(results), min(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=["off", "on"], default="off")
    parser.add_argument("--backend", choices=["rocksdb", "memory"], default="rocksdb")
    parser.add_argument("--ops", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if args.mode == "on":
        _enable_tracing()
    blobs = [os.urandom(1 << 20) for _ in range(args.ops * args.rounds)]
    with tempfile.TemporaryDirectory() as path:
        settings = {"rate_limit_global": 0, "rate_limit_per_session": 0, "max_session_bytes": 1 << 40}
        settings |= {"max_artifacts_per_session": 100000, "max_artifact_size": 1 << 30}
        with SessionManager(storage_path=path, storage_backend=args.backend, **settings) as manager:
            session_id = manager.create_session(name="bench")

            def put_one(i: int) -> None:
                header = UploadHeader(session_id=session_id, name=f"a{i}", type=ArtifactType.TOOL_RESULT)
                manager.put_artifact(header, blobs[i])

            def state(i: int) -> None:
                manager.set_session_state(session_id, {"step": i, "note": "x" * 64})

            put_one(0)  # warm up (files, caches)
            put = _rounds(lambda i: put_one(i + 1) if i + 1 < len(blobs) else None, args.ops, args.rounds)
            state_us = _rounds(state, args.ops * 10, args.rounds)
    print(
        f"{args.mode} {args.backend} put_artifact_1MiB_us median={put[0]:.0f} best={put[1]:.0f}"
        f" set_session_state_us median={state_us[0]:.1f} best={state_us[1]:.1f}"
    )


if __name__ == "__main__":
    main()
