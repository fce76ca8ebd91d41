"""Deduplication and compression: GetStorageStats after uploading transcript mixes with 0 / 30 / 60 %
duplicated content, each mix in its own session.

A mix (``bench/payloads.py``) is JSON-lines transcripts in 4 MiB artifacts made of 1 MiB segments, of
which exactly that share repeats a segment uploaded earlier, at another offset and next to other
bytes (as when an agent stores an output that quotes an earlier one). Ceilings, computed from the
data itself: for dedup_ratio the segment-level ideal (logical bytes / distinct segment bytes; the
chunker loses about a chunk at each edge of a repeated segment), for compression_ratio raw LZ4 of the
distinct segments in 64 KiB blocks. 64 MiB per mix in the full run, 16 MiB in quick.
"""

from __future__ import annotations

import lz4.block

from .. import payloads
from ..framework import VALUE, Context, Figure, Summary
from ..transfer import MIB, pieces, servers

NAME = "dedup"
ORDER = 56
SHARES = (0.0, 0.3, 0.6)
BLOCK = 64 * 1024


def lz4_ratio(segments: list[bytes]) -> float:
    raw = sum(len(s) for s in segments)
    packed = sum(
        len(lz4.block.compress(s[o : o + BLOCK], store_size=False)) for s in segments for o in range(0, len(s), BLOCK)
    )
    return raw / packed


def run(ctx: Context) -> None:
    from llmspell_sessions.client import SessionClient
    from llmspell_sessions.client._artifact_api import make_header

    total = (16 if ctx.quick else 64) * MIB
    with servers(ctx, NAME, sink=False) as up:
        assert up.session is not None
        with SessionClient(up.session.address, timeout=600) as client:
            for index, share in enumerate(SHARES):
                ctx.progress.step(f"mix with {share:.0%} duplicated")
                mix = payloads.mix(total, share, seed=100 + index)
                sid = client.create_session(name=f"bench-dedup-{share}")
                for number, data in enumerate(mix.artifacts):
                    client.upload_artifact(make_header(sid, f"part-{number}"), pieces(data))
                stats = client.get_storage_stats(sid)
                distinct = list(
                    {s[:64]: s for a in mix.artifacts for s in (a[o : o + MIB] for o in range(0, len(a), MIB))}.values()
                )
                info = {
                    **up.info(),
                    "logical_bytes": stats.logical_bytes,
                    "stored_bytes": stats.stored_bytes,
                    "unique_chunks": stats.unique_chunks,
                    "artifacts": stats.artifact_count,
                    "duplicated_share": share,
                    "mix_bytes": total,
                }
                variant = f"{share:.0%} duplicated"
                ctx.record(
                    Figure(
                        NAME,
                        "dedup_ratio",
                        variant,
                        VALUE,
                        Summary.of([stats.dedup_ratio]),
                        ceiling_name="segment ideal",
                        ceiling=Summary.of([mix.ideal_dedup]),
                        info=info,
                        unit="x",
                    )
                )
                ctx.record(
                    Figure(
                        NAME,
                        "compression_ratio",
                        variant,
                        VALUE,
                        Summary.of([stats.compression_ratio]),
                        ceiling_name="raw lz4 64 KiB",
                        ceiling=Summary.of([lz4_ratio(distinct)]),
                        info=info,
                        unit="x",
                    )
                )
                overall = stats.logical_bytes / stats.stored_bytes if stats.stored_bytes else 0.0
                ctx.record(
                    Figure(
                        NAME,
                        "logical / stored",
                        variant,
                        VALUE,
                        Summary.of([overall]),
                        ceiling_name="ideal x raw lz4",
                        ceiling=Summary.of([mix.ideal_dedup * lz4_ratio(distinct)]),
                        info=info,
                        unit="x",
                    )
                )
