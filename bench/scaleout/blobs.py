"""Uploads and downloads of new random data through the PostgreSQL + S3 server, beside raw PUT / GET of the
same chunks with the same driver (obstore, what ``storage/s3blobs.py`` uses) and the same concurrency.

Upload: the server's ``upload_artifact`` (blocking ``SessionClient``, 1 MiB messages) of N MiB of new
random bytes (quick 16, full 64). Ceiling: new random bytes of the same size cut by the server's own
chunker (``hotpath.chunk_cuts``, untimed, like their BLAKE3 keys) and PUT as ``chunks/<hex>`` objects on a
16-thread pool (``S3BlobStore``'s pool) in the server's bucket — the object-store work of the upload and
nothing else. Download: ``download_artifact`` of a stored artifact, every byte BLAKE3-verified by the
client (``bench/transfer.py``); ceiling: GET of that artifact's very objects (checked against a listing
of the bucket) on a 16-thread pool; the same GETs one at a time go in info. The embedded RocksDB server's
upload and download of the same sizes run in the same rounds, for context (same ceilings).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from blake3 import blake3

from .. import payloads
from ..framework import Contender, Context
from ..transfer import MIB, fresh, pieces, record_throughput, verify_download
from .cluster import EMBEDDED, PG1, Cluster

POOL = 16  # S3BlobStore's default workers
UPLOAD_CEILING = f"obstore PUT of its chunks, {POOL} threads"
DOWNLOAD_CEILING = f"obstore GET of its chunks, {POOL} threads"
SEQUENTIAL_GET = "obstore GET of its chunks, 1 at a time"


class RawS3:
    """obstore on the server's bucket with the server's credentials, and a pool like the server's."""

    def __init__(self, up: Cluster, bucket: str) -> None:
        import obstore
        from obstore.store import S3Store

        s3 = up.s3
        self._obs = obstore
        self.store = S3Store(
            bucket,
            endpoint=s3.endpoint,
            region=s3.region,
            access_key_id=s3.access_key,
            secret_access_key=s3.secret_key,
            virtual_hosted_style_request=False,
            client_options={"allow_http": True, "pool_max_idle_per_host": str(POOL)},
        )
        self.pool = ThreadPoolExecutor(POOL, thread_name_prefix="raw-s3")

    def put_all(self, objects: list[tuple[str, bytes]]) -> None:
        list(self.pool.map(lambda item: self._obs.put(self.store, item[0], item[1]), objects))

    def get_all(self, keys: list[str], pooled: bool = True) -> int:
        get: Callable[[str], int] = lambda key: len(self._obs.get(self.store, key).bytes())  # noqa: E731
        return sum(self.pool.map(get, keys) if pooled else map(get, keys))

    def sizes(self, prefix: str) -> dict[str, int]:
        """Every object under prefix with its size."""
        return {meta["path"]: meta["size"] for batch in self._obs.list(self.store, prefix) for meta in batch}

    def close(self) -> None:
        self.pool.shutdown()


def chunk_objects(data: bytes) -> list[tuple[str, bytes]]:
    """The data cut by the server's chunker, each chunk keyed as the server keys it."""
    from llmspell_sessions import hotpath

    cuts = [0, *hotpath.chunk_cuts(data)]
    chunks = [data[start:end] for start, end in itertools.pairwise(cuts)]
    return [(f"chunks/{blake3(chunk).hexdigest()}", chunk) for chunk in chunks]


def throughput(
    ctx: Context, variant: str, size: int, found: dict[str, list[float]], name: str, ceiling: str, info: Any
) -> None:
    """A MiB/s figure of the contender ``name`` beside the contender ``ceiling`` (no target)."""
    record_throughput(
        ctx, "scaleout", name, variant, size, {name: found[name], ceiling: found[ceiling]}, ceiling, None, info
    )


def run(ctx: Context, up: Cluster) -> None:
    from llmspell_sessions.client import SessionClient
    from llmspell_sessions.client._artifact_api import make_header

    size = ctx.count(64, 16) * MIB
    label = f"{size // MIB} MiB new random"
    raw = RawS3(up, up.buckets[PG1])
    clients = {server: SessionClient(up.servers[server].address, timeout=600) for server in (PG1, EMBEDDED)}
    try:
        sessions = {server: client.create_session(name="bench-scaleout") for server, client in clients.items()}
        names = itertools.count()

        def upload(server: str, data: bytes) -> Any:
            return clients[server].upload_artifact(make_header(sessions[server], f"a{next(names)}"), pieces(data))

        new_data = fresh(lambda: payloads.random_bytes(size))
        new_chunks: list[list[tuple[str, bytes]]] = [[]]

        def chunk_setup() -> None:
            new_chunks[0] = []
            new_chunks[0] = chunk_objects(payloads.random_bytes(size))

        count = ctx.count(6, 4)
        found = ctx.interleave_raw(
            [
                Contender(f"upload {PG1}", lambda: upload(PG1, new_data[1]()), setup=new_data[0]),
                Contender(UPLOAD_CEILING, lambda: raw.put_all(new_chunks[0]), setup=chunk_setup),
                Contender(f"upload {EMBEDDED}", lambda: upload(EMBEDDED, new_data[1]()), setup=new_data[0]),
            ],
            count,
            rounds=count,
            warmup=1,
            label=f"upload {label}",
        )
        info = {**up.info(), "samples": count, "client": "SessionClient (blocking), 1 MiB messages"}
        for server in (PG1, EMBEDDED):
            name = f"upload {server}"
            throughput(ctx, label, size, found, name, UPLOAD_CEILING, info)
        downloads(ctx, up, raw, clients, sessions, size, label, info)
    finally:
        for client in clients.values():
            client.close()
        raw.close()


def downloads(
    ctx: Context,
    up: Cluster,
    raw: RawS3,
    clients: dict[str, Any],
    sessions: dict[str, str],
    size: int,
    label: str,
    info: dict[str, Any],
) -> None:
    """One stored artifact per server, downloaded in rounds beside GETs of the PG server's objects."""
    from llmspell_sessions.client._artifact_api import make_header

    data = payloads.random_bytes(size)
    stored = {
        server: client.upload_artifact(make_header(sessions[server], "download-me"), pieces(data))
        for server, client in clients.items()
    }
    keys = [key for key, _ in chunk_objects(data)]
    listed = raw.sizes("chunks/")
    absent = [key for key in keys if key not in listed]
    if absent:
        raise AssertionError(f"{len(absent)} of the artifact's {len(keys)} chunks are not in the bucket as computed")
    objects = {"objects": len(keys), "object_bytes_mean": round(sum(listed[k] for k in keys) / len(keys))}
    count = ctx.count(6, 4)
    found = ctx.interleave_raw(
        [
            *(
                Contender(
                    f"download {s}",
                    functools.partial(verify_download, clients[s], a.artifact_id, a.content_digest, size),
                )
                for s, a in stored.items()
            ),
            Contender(DOWNLOAD_CEILING, lambda: raw.get_all(keys)),
            Contender(SEQUENTIAL_GET, lambda: raw.get_all(keys, pooled=False)),
        ],
        count,
        rounds=count,
        warmup=1,
        label=f"download {label}",
    )
    sequential = {"sequential_get_op_p50_ns": sorted(found[SEQUENTIAL_GET])[len(found[SEQUENTIAL_GET]) // 2]}
    for server in stored:
        name = f"download {server}"
        extra = {**info, **objects, **sequential, "verified": "blake3 of every byte, client side"}
        throughput(ctx, label, size, found, name, DOWNLOAD_CEILING, extra)
    throughput(ctx, label, size, found, SEQUENTIAL_GET, DOWNLOAD_CEILING, objects)
