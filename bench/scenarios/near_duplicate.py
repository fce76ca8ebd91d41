"""Near-duplicate re-upload: upload_file of a random file, then of the same file with 1% edited in a few
contiguous places; what the client sends the second time, as a share of the file.

``SessionClient.upload_file`` chunks the file like the server (FastCDC + BLAKE3), asks
FindMissingChunks and streams only the missing chunks (UploadChunks), then CommitArtifact. The bytes
are counted on the wire side of the client: a client interceptor adds up the serialized size of every
request message of every call (digest lists, chunk data, the commit's chunk list); the chunk bytes
alone come from upload_file's progress callback. The "ceiling" is the edited bytes themselves (1%):
no client can send less than what changed. 100 MiB in the full run (3 trials), 32 MiB in quick (1).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from ..framework import VALUE, Context, Figure, Summary, Target
from ..transfer import MIB, servers

NAME = "near-dup"
ORDER = 55
EDITED = 0.01
PLACES = 4
TARGET = Target.at_most(5.0, "<= 5% of the file")


class CountingInterceptor(grpc.UnaryUnaryClientInterceptor, grpc.StreamUnaryClientInterceptor):
    """Adds up the serialized bytes of every request message sent through the channel."""

    def __init__(self) -> None:
        self.bytes = 0
        self.calls: dict[str, int] = {}

    def _count(self, method: str, message: Any) -> Any:
        size = message.ByteSize()
        self.bytes += size
        self.calls[method] = self.calls.get(method, 0) + size
        return message

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        return continuation(details, self._count(details.method, request))

    def intercept_stream_unary(self, continuation: Callable[..., Any], details: Any, requests: Iterator[Any]) -> Any:
        return continuation(details, (self._count(details.method, r) for r in requests))


def edit(data: bytearray, share: float, places: int, rng: random.Random) -> int:
    """Overwrites ``share`` of the data in ``places`` contiguous runs at random, spread offsets."""
    run = int(len(data) * share / places)
    stride = len(data) // places
    for place in range(places):
        start = place * stride + rng.randrange(0, stride - run)
        data[start : start + run] = os.urandom(run)
    return run * places


def trial(ctx: Context, client: Any, counter: CountingInterceptor, folder: Any, size: int, seed: int) -> dict[str, Any]:
    """One file, uploaded, edited, uploaded again; the bytes and times of both."""
    rng = random.Random(seed)
    data = bytearray(os.urandom(size))
    path = folder / f"file-{seed}.bin"
    path.write_bytes(data)
    sid = client.create_session(name="bench-near-dup")
    out: dict[str, Any] = {}
    edited = 0
    for attempt in ("first", "second"):
        if attempt == "second":
            edited = edit(data, EDITED, PLACES, rng)
            path.write_bytes(data)
        chunk_bytes = [0]

        def progress(done: int, total: int, chunk_bytes: list[int] = chunk_bytes) -> None:
            chunk_bytes[0] = done

        counter.bytes, counter.calls = 0, {}
        start = time.perf_counter()
        artifact = client.upload_file(sid, path, name="file.bin", progress=progress)
        seconds = time.perf_counter() - start
        if artifact.size != size:
            raise AssertionError(f"upload_file stored {artifact.size} of {size} bytes")
        out[attempt] = {
            "wire_bytes": counter.bytes,
            "chunk_bytes": chunk_bytes[0],
            "seconds": seconds,
            "per_call_bytes": dict(counter.calls),
            "new_bytes": artifact.new_bytes,
        }
        ctx.progress.step(f"{attempt} upload_file of {size // MIB} MiB: {counter.bytes / size:.1%} sent")
    out["edited_bytes"] = edited
    return out


def run(ctx: Context) -> None:
    from llmspell_sessions.client import SessionClient

    size = (32 if ctx.quick else 100) * MIB
    trials = ctx.count(3, 1)
    folder = ctx.tempdir("near-dup-files")
    with servers(ctx, NAME, sink=False) as up:
        assert up.session is not None
        with SessionClient(up.session.address, timeout=600) as client:
            counter = CountingInterceptor()
            client.channel = grpc.intercept_channel(client.channel, counter)
            # SessionClient made its stubs on the plain channel: make them again on the counting one
            from llmspell_sessions._pb import artifact_pb2_grpc, replay_pb2_grpc, session_pb2_grpc

            client._stubs = {
                "session": session_pb2_grpc.SessionServiceStub(client.channel),
                "artifact": artifact_pb2_grpc.ArtifactServiceStub(client.channel),
                "replay": replay_pb2_grpc.ReplayServiceStub(client.channel),
            }
            results = [trial(ctx, client, counter, folder, size, seed) for seed in range(1, trials + 1)]
    share = [100 * r["second"]["wire_bytes"] / size for r in results]
    chunk_share = [100 * r["second"]["chunk_bytes"] / size for r in results]
    edited = [100 * r["edited_bytes"] / size for r in results]
    info = {
        **up.info(),
        "file_bytes": size,
        "edited_share": EDITED,
        "edited_places": PLACES,
        "trials": results,
        "chunk_bytes_share_p50_pct": Summary.of(chunk_share).p50,
        "second_upload_mib_s": [size / MIB / r["second"]["seconds"] for r in results],
        "first_upload_mib_s": [size / MIB / r["first"]["seconds"] for r in results],
    }
    ctx.record(
        Figure(
            NAME,
            "re-upload sent (wire)",
            f"{size // MIB} MiB, 1% edited",
            VALUE,
            Summary.of(share),
            ceiling_name="edited bytes",
            ceiling=Summary.of(edited),
            target=TARGET,
            info=info,
            unit="%",
            lower_is_better=True,
        )
    )
    ctx.record(
        Figure(
            NAME,
            "re-upload sent (chunk data)",
            f"{size // MIB} MiB, 1% edited",
            VALUE,
            Summary.of(chunk_share),
            ceiling_name="edited bytes",
            ceiling=Summary.of(edited),
            target=TARGET,
            info={"file_bytes": size},
            unit="%",
            lower_is_better=True,
        )
    )
    first = [100 * r["first"]["wire_bytes"] / size for r in results]
    ctx.record(
        Figure(
            NAME,
            "first upload sent (wire)",
            f"{size // MIB} MiB, new",
            VALUE,
            Summary.of(first),
            info={"file_bytes": size},
            unit="%",
        )
    )
