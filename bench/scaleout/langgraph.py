"""Our LangGraph saver over gRPC on the PostgreSQL + S3 server against langgraph-checkpoint-postgres's
PostgresSaver on the same PostgreSQL cluster (its own database): the store a LangGraph team would deploy
instead, so it is the ceiling.

The operations are ``integrations.langgraph_ops`` (put, put_writes, get_tuple, list(limit=10) on one
growing thread), interleaved across PostgresSaver (``from_conn_string`` + ``setup()``: one autocommit
connection), ``LlmspellSaver(SessionClient(...))`` on the 1-worker PostgreSQL server, and the same saver
on the embedded RocksDB server, for context. Ratio = PostgresSaver p50 / ours.
"""

from __future__ import annotations

from typing import Any

from ..framework import LATENCY, Contender, Context, Figure, Summary
from ..scenarios.integrations import langgraph_ops
from .cluster import EMBEDDED, PG1, Cluster

CEILING = "PostgresSaver (same PostgreSQL)"


def run(ctx: Context, up: Cluster) -> None:
    try:
        from langgraph.checkpoint.postgres import PostgresSaver
        from llmspell_sessions.client import SessionClient
        from llmspell_sessions.integrations.langgraph import LlmspellSaver
    except ImportError as error:
        ctx.note(f"langgraph part skipped: {error} (pip install langgraph-checkpoint-postgres)")
        return
    dsn = up.postgres.new_database("scaleout_langgraph")
    with (
        PostgresSaver.from_conn_string(dsn) as theirs,
        SessionClient(up.servers[PG1].address) as pg,
        SessionClient(up.servers[EMBEDDED].address) as embedded,
    ):
        theirs.setup()
        pg_client: Any = pg  # a SessionBackend (the saver's protocol is narrower than the client's signatures)
        embedded_client: Any = embedded
        stores = {
            CEILING: langgraph_ops(theirs),
            f"llmspell gRPC, {PG1}": langgraph_ops(LlmspellSaver(pg_client)),
            f"llmspell gRPC, {EMBEDDED}": langgraph_ops(LlmspellSaver(embedded_client)),
        }
        for op in stores[CEILING]:
            contenders = [Contender(store, ops[op]) for store, ops in stores.items()]
            found = ctx.interleave(contenders, ctx.count(500, 100), warmup=ctx.count(50, 10), label=f"langgraph {op}")
            record(ctx, up, op, found)


def record(ctx: Context, up: Cluster, op: str, found: dict[str, Summary]) -> None:
    for store, summary in found.items():
        if store == CEILING:
            continue
        ctx.record(
            Figure(
                "scaleout",
                f"langgraph {op}",
                store,
                LATENCY,
                summary,
                ceiling_name=CEILING,
                ceiling=found[CEILING],
                interleaved=True,
                info={
                    "postgres": up.info()["postgres"],
                    "ceiling": "langgraph-checkpoint-postgres PostgresSaver.from_conn_string(dsn) + setup()",
                },
            )
        )
