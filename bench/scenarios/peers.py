"""The CAS peers on the same workloads, in the same rounds: BuildGrid's CAS (ByteStream Write/Read,
BatchUpdateBlobs) and bazel-remote (ByteStream Write/Read), next to this server and the bare sink/source.

Each peer runs in its own subprocess on loopback, pinned like the real server (``bench/peers.py``
starts it; ``python -m bench.peers install`` installs it under ``bench/.peers/``). The load generator
is ``bench/reapi.py`` (blocking grpcio, 1 MiB WriteRequests, SHA-256 digests computed before the
timed call, reads verified with SHA-256 as a REAPI client does). For each size the rounds interleave:
this server's upload of new random bytes, each peer's ByteStream Write of new random bytes, the sink;
then this server's verified download, each peer's verified Read, the source; and for sizes up to
1 MiB this server's StoreArtifact (one unary call) against BatchUpdateBlobs (one blob per call). A
peer that is not installed or does not start is skipped with the reason (in the JSON's notes). In
quick mode peers run only if already installed; the full run installs them first.
"""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from .. import payloads
from .. import peers as peer_tools
from ..framework import Contender, Context
from ..reapi import CasClient, sha256
from ..transfer import (
    MIB,
    Bare,
    fresh,
    pieces,
    pin,
    pinning,
    record_throughput,
    samples_for,
    servers,
    size_label,
    upload_sizes,
    verify_download,
)

NAME = "peers"
ORDER = 80
SINK, SOURCE = "grpc sink", "grpc source"


def start_peers(ctx: Context) -> list[Any]:
    found = peer_tools.status() if ctx.quick else peer_tools.install()
    started = []
    for peer in found:
        if not peer.installed:
            ctx.note(f"{peer.name} skipped: {peer.detail}")
            continue
        try:
            process = peer_tools.STARTERS[peer.name](ctx.tempdir(peer.name))
        except RuntimeError as exc:
            ctx.note(f"{peer.name} skipped: {exc}")
            continue
        plan = pinning()
        if plan:
            pin(process.proc.pid, plan[1])
        ctx.progress.step(f"{peer.name} serving on {process.address} ({peer.detail})")
        started.append(process)
    return started


def verify_read(cas: CasClient, digest: str, size: int) -> None:
    hasher, got = hashlib.sha256(), 0
    for data in cas.read(digest, size):
        hasher.update(data)
        got += len(data)
    if got != size or hasher.hexdigest() != digest:
        raise AssertionError(f"ByteStream Read of {digest}/{size} returned other bytes")


def run(ctx: Context) -> None:
    from llmspell_sessions.client import SessionClient
    from llmspell_sessions.client._artifact_api import make_header

    running = start_peers(ctx)
    if not running:
        ctx.note("no peer could be started: nothing measured")
        return
    try:
        with servers(ctx, NAME) as up:
            assert up.session is not None and up.sink is not None
            bare = Bare(up.sink.address)
            cas = {p.name: CasClient(p.address) for p in running}
            with SessionClient(up.session.address, timeout=600) as client:
                sid = client.create_session(name="bench-peers")
                names = itertools.count()
                for size in upload_sizes(ctx):
                    measure_size(ctx, size, client, sid, names, bare, cas, up.info(), make_header)
            bare.close()
            for c in cas.values():
                c.close()
    finally:
        for process in running:
            process.stop()


def measure_size(
    ctx: Context,
    size: int,
    client: Any,
    sid: str,
    names: Any,
    bare: Bare,
    cas: dict[str, CasClient],
    info: dict[str, Any],
    make_header: Any,
) -> None:
    count = samples_for(ctx, size)
    label = size_label(size)
    data = fresh(lambda: payloads.random_bytes(size))
    digest = [""]

    def setup() -> None:
        data[0]()
        digest[0] = sha256(data[1]())

    ours = "llmspell UploadArtifact"
    writes = [
        Contender(
            ours, lambda: client.upload_artifact(make_header(sid, f"p{next(names)}"), pieces(data[1]())), setup=setup
        )
    ]
    writes += [
        Contender(f"{name} ByteStream Write", lambda c=c: c.write(data[1](), digest[0]), setup=setup)
        for name, c in cas.items()
    ]
    writes.append(Contender(SINK, lambda: bare.sink(data[1]()), setup=setup))
    raw = ctx.interleave_raw(writes, count, rounds=min(count, 10), warmup=1, label=f"peers write {label}")
    for contender in writes[:-1]:
        found = {contender.name: raw[contender.name], SINK: raw[SINK]}
        record_throughput(
            ctx, NAME, contender.name, label, size, found, SINK, None, {**info, "samples": count, "data": "new random"}
        )

    blob = payloads.random_bytes(size)
    blob_digest = sha256(blob)
    artifact = client.upload_artifact(make_header(sid, f"p{next(names)}"), pieces(blob))
    for c in cas.values():
        c.write(blob, blob_digest)
    ours = "llmspell DownloadArtifact"
    reads = [Contender(ours, lambda: verify_download(client, artifact.artifact_id, artifact.content_digest, size))]
    reads += [
        Contender(f"{name} ByteStream Read", lambda c=c: verify_read(c, blob_digest, size)) for name, c in cas.items()
    ]
    reads.append(Contender(SOURCE, lambda: bare.source(size)))
    raw = ctx.interleave_raw(reads, count, rounds=min(count, 10), warmup=1, label=f"peers read {label}")
    for contender in reads[:-1]:
        found = {contender.name: raw[contender.name], SOURCE: raw[SOURCE]}
        record_throughput(
            ctx,
            NAME,
            contender.name,
            label,
            size,
            found,
            SOURCE,
            None,
            {**info, "samples": count, "verified": "blake3 (ours) / sha256 (REAPI)"},
        )

    if size > MIB:
        return
    ours = "llmspell StoreArtifact"
    small = [Contender(ours, lambda: client.store_artifact(sid, f"s{next(names)}", data[1]()), setup=setup)]
    small += [
        Contender(f"{name} BatchUpdateBlobs", lambda c=c: c.batch_update([(digest[0], data[1]())]), setup=setup)
        for name, c in cas.items()
        if name == "buildgrid"
    ]
    small.append(Contender(SINK, lambda: bare.sink(data[1]()), setup=setup))
    raw = ctx.interleave_raw(small, count, rounds=min(count, 10), warmup=1, label=f"peers unary {label}")
    for contender in small[:-1]:
        found = {contender.name: raw[contender.name], SINK: raw[SINK]}
        record_throughput(
            ctx,
            NAME,
            contender.name,
            label,
            size,
            found,
            SINK,
            None,
            {**info, "samples": count, "data": "new random", "calls": "one unary call"},
        )
