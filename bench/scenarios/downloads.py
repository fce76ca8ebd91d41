"""Streamed downloads (DownloadArtifact) of artifacts like the uploads', every byte BLAKE3-verified on the
client, next to a bare grpcio source of the same 1 MiB messages (the client hashes those too).

For each size, one random and one JSON-transcript artifact are uploaded (untimed), then downloading
them is interleaved with the source (``bench/sink_server.py``: a grpc.aio generic unary-stream
handler yielding a pre-made 1 MiB buffer). The JSON artifact is stored LZ4-compressed, so its
download pays decompression. Ratio = figure / source.
"""

from __future__ import annotations

from .. import payloads
from ..framework import Contender, Context, Target
from ..transfer import Bare, pieces, record_throughput, samples_for, servers, size_label, upload_sizes, verify_download

NAME = "downloads"
ORDER = 51
CEILING = "grpc source"
TARGET = Target.at_least_times(0.7, CEILING)


def run(ctx: Context) -> None:
    from llmspell_sessions.client import SessionClient
    from llmspell_sessions.client._artifact_api import make_header

    with servers(ctx, NAME) as up:
        assert up.session is not None and up.sink is not None
        bare = Bare(up.sink.address)
        with SessionClient(up.session.address, timeout=600) as client:
            sid = client.create_session(name="bench-downloads")
            for size in upload_sizes(ctx):
                stored = {}
                for kind in ("random", "json"):
                    data = payloads.make(kind, size, seed=size)
                    artifact = client.upload_artifact(make_header(sid, f"{kind}-{size}"), pieces(data))
                    stored[kind] = (artifact.artifact_id, artifact.content_digest)
                contenders = [
                    *(
                        Contender(f"download {kind}", lambda a=a, d=d, n=size: verify_download(client, a, d, n))
                        for kind, (a, d) in stored.items()
                    ),
                    Contender(CEILING, lambda n=size: bare.source(n)),
                ]
                count = samples_for(ctx, size)
                raw = ctx.interleave_raw(
                    contenders, count, rounds=min(count, 10), warmup=1, label=f"download {size_label(size)}"
                )
                for kind in stored:
                    name = f"download {kind}"
                    record_throughput(
                        ctx,
                        NAME,
                        name,
                        size_label(size),
                        size,
                        {name: raw[name], CEILING: raw[CEILING]},
                        CEILING,
                        TARGET,
                        {**up.info(), "samples": count, "verified": "blake3 of every byte, client side"},
                    )
        bare.close()
