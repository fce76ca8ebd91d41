"""One BlobStore contract, run over segment files, memory and S3 (a real SeaweedFS, signed requests),
then the S3 store's own faults: an outage is Unavailable within bounded time, and the same store
object works again once the endpoint is back."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from blake3 import blake3
from llmspell_sessions.errors import DataLoss, Unavailable
from llmspell_sessions.storage.blobs import BlobStore, MemoryBlobStore, SegmentBlobStore

from tests.helpers.s3 import SeaweedS3, list_keys

MiB = 1024 * 1024


def _blob(data: bytes) -> tuple[bytes, bytes]:
    return blake3(data).digest(), data


@pytest.fixture(params=["segments", "memory", "s3"])
def any_blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    """Each blob store; the S3 one in a bucket of its own."""
    if request.param == "segments":
        store: BlobStore = SegmentBlobStore(tmp_path / "segments")
    elif request.param == "memory":
        store = MemoryBlobStore()
    else:
        from llmspell_sessions.storage.s3blobs import S3BlobStore

        request.getfixturevalue("s3_env")
        store = S3BlobStore(request.getfixturevalue("seaweed").endpoint, f"conf-{uuid.uuid4().hex[:12]}")
    yield store
    store.close()


def test_appended_blobs_read_back_including_empty_and_large(any_blobs: BlobStore) -> None:
    blobs = [_blob(b""), _blob(b"small"), _blob(os.urandom(MiB))]
    locations = any_blobs.append(blobs)
    any_blobs.sync()
    assert len(locations) == 3 and all(len(loc) == 16 for loc in locations)  # the record's 16-byte field
    for (digest, data), location in zip(blobs, locations, strict=True):
        assert any_blobs.read(digest, location) == data


def test_appending_the_same_digest_again_is_harmless(any_blobs: BlobStore) -> None:
    digest, data = _blob(os.urandom(1000))
    first = any_blobs.append([(digest, data)])[0]
    second = any_blobs.append([(digest, data)])[0]
    any_blobs.sync()
    assert any_blobs.read(digest, first) == data
    assert any_blobs.read(digest, second) == data


def test_reading_an_unknown_blob_is_data_loss(any_blobs: BlobStore) -> None:
    stored = any_blobs.append([_blob(b"known")])[0]
    unknown = blake3(b"never stored").digest()
    beyond = bytes(16) if stored == bytes(16) else bytes(4) + (10**6).to_bytes(8, "little") + bytes(4)
    with pytest.raises(DataLoss):
        any_blobs.read(unknown, beyond)


def test_a_dead_blob_is_gone(any_blobs: BlobStore) -> None:
    if isinstance(any_blobs, SegmentBlobStore):
        pytest.skip("segment files reclaim dead blobs by compaction (ContentStore.compact), not at dead()")
    digest, data = _blob(b"short-lived")
    location = any_blobs.append([(digest, data)])[0]
    keep_digest, keep = _blob(b"kept")
    keep_location = any_blobs.append([(keep_digest, keep)])[0]
    any_blobs.dead(digest, location)
    with pytest.raises(DataLoss):
        any_blobs.read(digest, location)
    assert any_blobs.read(keep_digest, keep_location) == keep  # only that blob went


def test_a_closed_store_is_unavailable(any_blobs: BlobStore) -> None:
    blob = _blob(b"before close")
    location = any_blobs.append([blob])[0]
    any_blobs.close()
    with pytest.raises(Unavailable):
        any_blobs.append([_blob(b"after close")])
    with pytest.raises(Unavailable):
        any_blobs.read(blob[0], location)
    with pytest.raises(Unavailable):
        any_blobs.sync()


# -- S3 only --------------------------------------------------------------------------------------------


def test_s3_objects_are_named_by_digest_under_the_prefix(s3_env: SeaweedS3) -> None:
    from llmspell_sessions.storage.s3blobs import S3BlobStore

    bucket = f"named-{uuid.uuid4().hex[:12]}"
    store = S3BlobStore(s3_env.endpoint, bucket, prefix="tenant-x/")
    try:
        assert list_keys(s3_env, bucket) == []  # the bucket was created at open, before any PUT
        digest, data = _blob(b"named")
        store.append([(digest, data), (digest, data)])
        assert list_keys(s3_env, bucket) == [f"tenant-x/chunks/{digest.hex()}"]
    finally:
        store.close()


def test_s3_outage_is_unavailable_within_bounded_time_and_recovers(s3_env: SeaweedS3) -> None:
    from llmspell_sessions.storage.s3blobs import S3BlobStore

    store = S3BlobStore(s3_env.endpoint, f"fault-{uuid.uuid4().hex[:12]}", connect_timeout=1, timeout=3, retries=1)
    try:
        digest, data = _blob(os.urandom(64 * 1024))
        location = store.append([(digest, data)])[0]
        s3_env.stop()
        for operation in (lambda: store.append([_blob(b"during the outage")]), lambda: store.read(digest, location)):
            started = time.monotonic()
            with pytest.raises(Unavailable, match="object store"):
                operation()
            assert time.monotonic() - started < 10
        s3_env.start()
        assert store.read(digest, location) == data  # the same object works again
        later = _blob(b"after the outage")
        assert store.read(later[0], store.append([later])[0]) == later[1]
    finally:
        if s3_env.process is None:
            s3_env.start()
        store.close()


def test_s3_refused_credentials_are_unavailable(s3_env: SeaweedS3, monkeypatch: pytest.MonkeyPatch) -> None:
    from llmspell_sessions.storage.s3blobs import S3BlobStore

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(Unavailable, match="bucket"):
        S3BlobStore(s3_env.endpoint, f"denied-{uuid.uuid4().hex[:12]}")
