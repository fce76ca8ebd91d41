"""Scale-out: PostgreSQL + S3 servers (1 and 2 workers) against the embedded server, raw S3 and PostgresSaver.

Starts a throwaway PostgreSQL (fsync on) and SeaweedFS, then three servers: embedded RocksDB, and
``serve --backend postgres --blob-store s3`` with ``--workers 1`` and ``--workers 2`` (``bench/scaleout/
cluster.py``). In the same run: session ops/s at several client counts and agent runs/s on all three,
phases interleaved in rounds, ceiling the embedded server (``bench/scaleout/ops.py``); uploads and
downloads through the PostgreSQL + S3 server beside raw obstore PUT/GET of the same chunks
(``bench/scaleout/blobs.py``); the LangGraph saver over gRPC on PostgreSQL beside PostgresSaver on the
same PostgreSQL (``bench/scaleout/langgraph.py``). Skipped, with a note, without PostgreSQL's programs or
SeaweedFS's weed (``make cluster-deps``). Not part of ``--quick`` runs unless named with ``--only``.
"""

from __future__ import annotations

from ..framework import Context

NAME = "scaleout"
ORDER = 70
QUICK = False  # ~60 s of its own, more than bench-quick's budget leaves: run it with --only scaleout


def run(ctx: Context) -> None:
    try:
        from ..scaleout import blobs, cluster, langgraph, ops
    except ImportError as error:  # tests.helpers (run from the checkout) or a driver missing
        ctx.note(f"skipped: {error}")
        return
    reasons = cluster.missing()
    if reasons:
        ctx.note("skipped: " + "; ".join(reasons))
        return
    with cluster.cluster(ctx) as up:
        ops.run(ctx, up)
        blobs.run(ctx, up)
        langgraph.run(ctx, up)
