"""S3BlobStore: chunk bytes as objects in an S3-compatible store, one object per chunk, named by digest.

Key ``<prefix>chunks/<hex digest>``: a PUT of a digest already there writes the same bytes again, so
appends are idempotent and need no coordination between frontends. The location in a chunk record
is a fixed 16 zero bytes (the record format keeps its 16-byte field); the digest finds the object.
A completed PUT is durable, so sync() has nothing to do. There are no segments: dead() deletes the
object, and compaction finds nothing to compact. Why one object per chunk (not packs) and why obstore:
docs/architecture.md, "Chunk bytes in an object store", with the numbers of bench/s3_blobs.py.

Every failure to reach the store (connection refused or reset, timeouts, 5xx, throttling, refused
credentials) is Unavailable (gRPC UNAVAILABLE) with a short message; a missing object is DataLoss.
obstore's sync calls release the GIL for the whole request, so a thread pool overlaps them.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import timedelta
from typing import Literal, TypeVar

import obstore
from obstore.exceptions import BaseError, NotFoundError
from obstore.store import S3Store

from ..errors import DataLoss, Unavailable
from .blobs import Blob

READ_AHEAD = 8  # GETs a download keeps in flight: enough to hide the round trip of 64 KiB chunks
LOCATION = bytes(16)
"""The location of every blob: objects are found by digest alone."""
_T = TypeVar("_T")


class S3BlobStore:
    """Chunk bytes in a bucket of an S3-compatible store (AWS_* credentials, path-style addressing)."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        prefix: str = "",
        *,
        workers: int = 16,
        connect_timeout: float = 2.0,
        timeout: float = 10.0,
        retries: int = 2,
        credentials: Mapping[str, str] | None = None,
    ) -> None:
        """credentials: the AWS_* variables to use (default: this process's environment)."""
        self.bucket, self.prefix, self.endpoint = bucket, prefix, endpoint
        env = os.environ if credentials is None else credentials
        self._store = S3Store(
            bucket,
            endpoint=endpoint,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            access_key_id=env.get("AWS_ACCESS_KEY_ID") or None,
            secret_access_key=env.get("AWS_SECRET_ACCESS_KEY") or None,
            virtual_hosted_style_request=False,
            client_options={
                "allow_http": endpoint.startswith("http://"),
                "connect_timeout": f"{connect_timeout}s",
                "timeout": f"{timeout}s",
                "pool_max_idle_per_host": str(workers),
            },
            retry_config={
                "max_retries": retries,
                "backoff": {
                    "init_backoff": timedelta(milliseconds=100),
                    "max_backoff": timedelta(seconds=1),
                    "base": 2,
                },  # fmt: skip
                "retry_timeout": timedelta(seconds=timeout),
            },
        )
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="s3-blobs")
        self._lock = threading.Lock()
        self._closed = False
        self._create_bucket(connect_timeout + timeout)

    def _key(self, digest: bytes) -> str:
        return f"{self.prefix}chunks/{digest.hex()}"

    def _create_bucket(self, timeout: float, attempts: int = 4) -> None:
        """CreateBucket, unless it exists. obstore has no bucket API: a presigned PUT of the bucket's
        root is exactly the CreateBucket request, signed with the same credentials. Frontends starting
        together race on it, and SeaweedFS may answer the loser with a transient 404 or 5xx: a refusal
        other than 409 is retried, and accepted once a HEAD shows the bucket is there."""
        status = 0
        for attempt in range(attempts):
            status = self._bucket_request("PUT", timeout)
            if status < 300 or status == 409:  # 409: BucketAlreadyOwnedByYou/AlreadyExists (another won)
                return
            if self._bucket_request("HEAD", timeout) < 300:
                return
            time.sleep(0.1 * 2**attempt)
        raise Unavailable(f"object store: cannot create bucket {self.bucket}: HTTP {status}", bucket=self.bucket)

    def _bucket_request(self, method: Literal["PUT", "HEAD"], timeout: float) -> int:
        """The HTTP status of a presigned request on the bucket's root."""
        sign = lambda: obstore.sign(self._store, method, "", timedelta(minutes=1))  # noqa: E731
        url = self._call(f"sign a {method} of the bucket", sign)
        request = urllib.request.Request(url, data=b"" if method == "PUT" else None, method=method)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError as exc:
            raise Unavailable(f"object store at {self.endpoint} unreachable: {exc}", bucket=self.bucket) from None

    def _call(self, what: str, call: Callable[[], _T]) -> _T:
        """Runs one request; maps the driver's failures to our errors (never a raw obstore exception)."""
        if self._closed:
            raise Unavailable("the blob store is closed")
        try:
            return call()
        except (FileNotFoundError, NotFoundError):
            raise DataLoss(f"object store: cannot {what}: not found", bucket=self.bucket) from None
        except (BaseError, OSError) as exc:  # connection refused/reset, timeouts, 5xx, refused credentials
            reason = str(exc).split("\n", 1)[0][:200]
            raise Unavailable(f"object store: cannot {what}: {reason}", bucket=self.bucket) from None

    def append(self, blobs: Sequence[Blob]) -> list[bytes]:
        """PUTs every blob, concurrently on the pool; returns once all are stored (durable)."""
        if self._closed:
            raise Unavailable("the blob store is closed")
        futures = [self._pool.submit(self._put, digest, data) for digest, data in blobs]
        errors = [f.exception() for f in futures]  # wait for every PUT before reporting any failure
        for error in errors:
            if error is not None:
                raise error
        return [LOCATION] * len(blobs)

    def _put(self, digest: bytes, data: bytes | memoryview) -> None:
        body = data if isinstance(data, bytes) else bytes(data)
        self._call("store a chunk", lambda: obstore.put(self._store, self._key(digest), body))

    def read(self, digest: bytes, location: bytes) -> bytes:
        """GETs the object; DataLoss when it is missing."""
        try:
            return self._call("read a chunk", lambda: bytes(obstore.get(self._store, self._key(digest)).bytes()))
        except DataLoss:
            raise DataLoss(f"chunk {digest.hex()} is missing from the object store", digest=digest.hex()) from None

    def read_many(self, blobs: Sequence[tuple[bytes, bytes]]) -> Iterator[bytes]:
        """GETs ahead on the pool (at most READ_AHEAD in flight) and yields in order: a download waits
        for one round trip per window, not per chunk."""
        pending: deque[Future[bytes]] = deque()
        items = iter(blobs)
        try:
            for digest, location in itertools.islice(items, READ_AHEAD):
                pending.append(self._pool.submit(self.read, digest, location))
            while pending:
                data = pending.popleft().result()
                for digest, location in itertools.islice(items, 1):
                    pending.append(self._pool.submit(self.read, digest, location))
                yield data
        finally:
            for future in pending:  # the reader stopped early (or a read failed): drop what is queued
                future.cancel()

    def sync(self) -> None:
        """Nothing to do: append returns after every PUT completed, and a completed PUT is durable."""
        if self._closed:
            raise Unavailable("the blob store is closed")

    def dead(self, digest: bytes, location: bytes) -> None:
        """DELETEs the object (deleting one already gone succeeds)."""
        self._call("delete a chunk", lambda: obstore.delete(self._store, self._key(digest)))

    def ping(self) -> None:
        """Raises Unavailable unless the store answers now (a HEAD of a key that need not exist)."""
        try:
            self._call("answer", lambda: obstore.head(self._store, f"{self.prefix}ping"))
        except DataLoss:
            pass  # "not found" is an answer

    def closed_segments(self, settled_for: float = 0.0) -> dict[int, int]:
        return {}  # no segments: nothing for compaction to do

    def remove_segment(self, segment: int) -> None:
        raise ValueError("the S3 blob store has no segments")

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._pool.shutdown(wait=True)
