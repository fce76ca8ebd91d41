"""Streamed uploads through the real server (UploadArtifact, 1 MiB messages) next to a bare grpcio sink.

For each size (10 KiB, 1 MiB, 16 MiB, and 100 MiB in the full run) three kinds of upload are
interleaved with the sink (``bench/sink_server.py``: a grpc.aio generic stream-unary handler that only
counts bytes, the same 1 MiB messages, its own subprocess): new random bytes, new JSON-lines agent
transcripts (compressible, LZ4 ~2x, see ``bench/payloads.py``), and bytes already stored (the same
random bytes uploaded again to another session). Every sample is one upload on the blocking
SessionClient; new data is made before each sample, untimed. Figures are MiB/s per upload with the
p50 time of one upload; ratio = figure / sink.
"""

from __future__ import annotations

import itertools

from .. import payloads
from ..framework import Contender, Context, Target
from ..transfer import Bare, fresh, pieces, record_throughput, samples_for, servers, size_label, upload_sizes

NAME = "uploads"
ORDER = 50
CEILING = "grpc sink"
NEW_TARGET = Target.at_least_times(0.35, CEILING)
STORED_TARGET = Target.at_least_times(0.6, CEILING)


def run(ctx: Context) -> None:
    from llmspell_sessions.client import SessionClient
    from llmspell_sessions.client._artifact_api import make_header

    seeds = itertools.count(1)
    with servers(ctx, NAME) as up:
        assert up.session is not None and up.sink is not None
        bare = Bare(up.sink.address)
        with SessionClient(up.session.address, timeout=600) as client:
            sid = client.create_session(name="bench-uploads")
            names = itertools.count()

            def upload(data: bytes, session: str | None = None) -> object:
                header = make_header(session or sid, f"a{next(names)}")
                return client.upload_artifact(header, pieces(data))

            for size in upload_sizes(ctx):
                new_random = fresh(lambda size=size: payloads.random_bytes(size))
                new_json = fresh(lambda size=size: payloads.transcript(size, next(seeds)))
                stored = payloads.random_bytes(size)
                upload(stored)  # the bytes the "already stored" uploads send again
                other: list[str] = [""]
                contenders = [
                    Contender("new random", lambda g=new_random[1]: upload(g()), setup=new_random[0]),
                    Contender("new json", lambda g=new_json[1]: upload(g()), setup=new_json[0]),
                    Contender(
                        "already stored",
                        lambda d=stored, o=other: upload(d, o[0]),
                        setup=lambda o=other: o.__setitem__(0, client.create_session(name="bench-stored")),
                    ),
                    Contender(CEILING, lambda g=new_random[1]: bare.sink(g()), setup=new_random[0]),
                ]
                count = samples_for(ctx, size)
                raw = ctx.interleave_raw(
                    contenders, count, rounds=min(count, 10), warmup=1, label=f"upload {size_label(size)}"
                )
                for name, target in (
                    ("new random", NEW_TARGET),
                    ("new json", NEW_TARGET),
                    ("already stored", STORED_TARGET),
                ):
                    record_throughput(
                        ctx,
                        NAME,
                        f"upload {name}",
                        size_label(size),
                        size,
                        {f"upload {name}": raw[name], CEILING: raw[CEILING]},
                        CEILING,
                        target,
                        {**up.info(), "samples": count, "data": name},
                    )
        bare.close()
