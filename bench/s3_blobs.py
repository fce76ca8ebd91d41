"""Chunk bytes in an S3-compatible store: which driver, and one object per chunk or packs of chunks.

Starts a throwaway SeaweedFS (``weed mini`` from ``make cluster-deps``, see tests/helpers/s3.py) and
measures, in one run, with boto3 and obstore, over the same bucket:

- PUT and GET of 64 KiB objects (FastCDC's average chunk, hotpath.AVG_SIZE) and of 4 MiB objects,
  each with a thread pool of ``--workers`` (and 64 KiB PUTs one at a time, for the per-request cost);
- a 16 MiB upload of new data as 256 chunk PUTs (the chunk-per-object design) and packed into 4 MiB
  objects (the pack design), next to the driver's raw PUT ceiling (16 MiB as 4 MiB objects, no
  packing work) — and S3BlobStore.append of the same 256 chunks, the code the server runs.

Each figure is the best of ``--repeat`` rounds (the drivers alternate within a round). Prints MiB/s,
objects/s and ratios, and writes JSON to ``bench/results/s3-blobs-<timestamp>.json``.

Usage: ``python bench/s3_blobs.py [--workers 16] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "server"), str(ROOT)]

from llmspell_sessions.hotpath import AVG_SIZE  # noqa: E402

from tests.helpers.s3 import SeaweedS3, find_weed  # noqa: E402

MIB = 1 << 20
BUCKET = "bench"


class Boto3Driver:
    """boto3: one thread-safe client, connection pool as large as the thread pool."""

    name = "boto3"

    def __init__(self, s3: SeaweedS3, workers: int) -> None:
        import boto3
        from botocore.config import Config

        config = Config(s3={"addressing_style": "path"}, max_pool_connections=workers,
                        request_checksum_calculation="when_required",
                        response_checksum_validation="when_required")  # fmt: skip
        self.client = boto3.client("s3", endpoint_url=s3.endpoint, region_name=s3.region, config=config,
                                   aws_access_key_id=s3.access_key, aws_secret_access_key=s3.secret_key)  # fmt: skip

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=BUCKET, Key=key, Body=data)

    def get(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=BUCKET, Key=key)["Body"].read())


class ObstoreDriver:
    """obstore (Rust object_store): sync calls that release the GIL while the request runs."""

    name = "obstore"

    def __init__(self, s3: SeaweedS3, workers: int) -> None:
        import obstore
        from obstore.store import S3Store

        self._obs = obstore
        self.store = S3Store(BUCKET, endpoint=s3.endpoint, region=s3.region, access_key_id=s3.access_key,
                             secret_access_key=s3.secret_key, virtual_hosted_style_request=False,
                             client_options={"allow_http": True, "pool_max_idle_per_host": str(workers)})  # fmt: skip

    def put(self, key: str, data: bytes) -> None:
        self._obs.put(self.store, key, data)

    def get(self, key: str) -> bytes:
        return bytes(self._obs.get(self.store, key).bytes())


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def put_all(pool: ThreadPoolExecutor, driver: Any, items: Sequence[tuple[str, bytes]]) -> None:
    list(pool.map(lambda kv: driver.put(*kv), items))


def get_all(pool: ThreadPoolExecutor, driver: Any, keys: Sequence[str]) -> None:
    list(pool.map(driver.get, keys))


def packed(chunks: Sequence[bytes], pack_bytes: int) -> list[bytes]:
    """Chunks concatenated into packs of about pack_bytes (the pack design's extra work)."""
    packs, current, size = [], [], 0
    for chunk in chunks:
        current.append(chunk)
        size += len(chunk)
        if size >= pack_bytes:
            packs.append(b"".join(current))
            current, size = [], 0
    if current:
        packs.append(b"".join(current))
    return packs


def measure(driver: Any, pool: ThreadPoolExecutor, round_no: int) -> dict[str, float]:
    """Seconds per figure for one driver in one round (fresh random data: every PUT is new)."""
    tag = f"{driver.name}/{round_no}"
    small = [(f"{tag}/small/{i}", os.urandom(AVG_SIZE)) for i in range(256)]  # 16 MiB
    large = [(f"{tag}/large/{i}", os.urandom(4 * MIB)) for i in range(4)]  # 16 MiB
    serial = [(f"{tag}/serial/{i}", os.urandom(AVG_SIZE)) for i in range(64)]
    chunks = [os.urandom(AVG_SIZE) for _ in range(256)]
    out = {
        "put_64k": timed(lambda: put_all(pool, driver, small)),
        "get_64k": timed(lambda: get_all(pool, driver, [k for k, _ in small])),
        "put_64k_serial": timed(lambda: [driver.put(k, v) for k, v in serial]),
        "put_4m": timed(lambda: put_all(pool, driver, large)),
        "get_4m": timed(lambda: get_all(pool, driver, [k for k, _ in large])),
    }
    out["upload_16m_packed"] = timed(
        lambda: put_all(pool, driver, [(f"{tag}/pack/{i}", p) for i, p in enumerate(packed(chunks, 4 * MIB))])
    )
    return out


def measure_store(s3: SeaweedS3, workers: int) -> float:
    """S3BlobStore.append of 256 new 64 KiB chunks (digest-named objects, its own thread pool)."""
    from blake3 import blake3
    from llmspell_sessions.storage.s3blobs import S3BlobStore

    os.environ.update(s3.env())
    store = S3BlobStore(s3.endpoint, BUCKET, prefix="store/", workers=workers)
    try:
        chunks = [os.urandom(AVG_SIZE) for _ in range(256)]
        blobs = [(blake3(c).digest(), c) for c in chunks]
        return timed(lambda: store.append(blobs))
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    binary = find_weed()
    if binary is None:
        sys.exit("no weed binary: run `make cluster-deps`")
    s3 = SeaweedS3(binary).start()
    try:
        s3.client().create_bucket(Bucket=BUCKET)
        drivers = [Boto3Driver(s3, args.workers), ObstoreDriver(s3, args.workers)]
        best: dict[str, dict[str, float]] = {d.name: {} for d in drivers}
        best["S3BlobStore"] = {}
        with ThreadPoolExecutor(args.workers) as pool:
            for round_no in range(args.repeat):
                for driver in drivers:
                    for figure, seconds in measure(driver, pool, round_no).items():
                        best[driver.name][figure] = min(seconds, best[driver.name].get(figure, seconds))
                seconds = measure_store(s3, args.workers)
                store = best["S3BlobStore"]
                store["upload_16m_chunks"] = min(seconds, store.get("upload_16m_chunks", seconds))
        report(best, args)
    finally:
        s3.destroy()


def report(best: dict[str, dict[str, float]], args: argparse.Namespace) -> None:
    mib = {"put_64k": 16, "get_64k": 16, "put_64k_serial": 4, "put_4m": 16, "get_4m": 16, "upload_16m_packed": 16,
           "upload_16m_chunks": 16}  # fmt: skip
    objects = {"put_64k": 256, "get_64k": 256, "put_64k_serial": 64, "put_4m": 4, "get_4m": 4,
               "upload_16m_packed": 4, "upload_16m_chunks": 256}  # fmt: skip
    rows: dict[str, dict[str, dict[str, float]]] = {}
    for driver, figures in best.items():
        for figure, seconds in figures.items():
            rows.setdefault(driver, {})[figure] = {
                "seconds": seconds, "mib_s": mib[figure] / seconds, "objects_s": objects[figure] / seconds}  # fmt: skip
            print(f"{driver:12} {figure:18} {mib[figure] / seconds:8.1f} MiB/s {objects[figure] / seconds:8.0f} obj/s")
    boto, obs = rows["boto3"], rows["obstore"]
    ratios = {
        "obstore/boto3 put_64k": obs["put_64k"]["mib_s"] / boto["put_64k"]["mib_s"],
        "obstore/boto3 get_64k": obs["get_64k"]["mib_s"] / boto["get_64k"]["mib_s"],
        "obstore/boto3 put_4m": obs["put_4m"]["mib_s"] / boto["put_4m"]["mib_s"],
        "obstore/boto3 get_4m": obs["get_4m"]["mib_s"] / boto["get_4m"]["mib_s"],
        "boto3 chunk PUTs / ceiling": boto["put_64k"]["mib_s"] / boto["put_4m"]["mib_s"],
        "boto3 packed / ceiling": boto["upload_16m_packed"]["mib_s"] / boto["put_4m"]["mib_s"],
        "obstore chunk PUTs / ceiling": obs["put_64k"]["mib_s"] / obs["put_4m"]["mib_s"],
        "obstore packed / ceiling": obs["upload_16m_packed"]["mib_s"] / obs["put_4m"]["mib_s"],
        "S3BlobStore.append / obstore ceiling": rows["S3BlobStore"]["upload_16m_chunks"]["mib_s"]
        / obs["put_4m"]["mib_s"],
    }
    for name, value in ratios.items():
        print(f"{name:36} {value:6.2f}")
    out = ROOT / "bench" / "results" / f"s3-blobs-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps({"workers": args.workers, "repeat": args.repeat, "nproc": os.cpu_count(),
                               "figures": rows, "ratios": ratios}, indent=2))  # fmt: skip
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
