"""The engine with chunk bytes in S3 (a real SeaweedFS) and records in PostgreSQL: artifacts round-trip,
deduplicate to one object per digest across sessions, and GC deletes the objects; then the real server
with --blob-store s3 behind the Python client."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from blake3 import blake3
from llmspell_sessions import SessionManager
from llmspell_sessions.config import load_config
from llmspell_sessions.errors import InvalidArgument
from llmspell_sessions.model import UploadHeader
from llmspell_sessions.storage.build import build_blob_store
from llmspell_sessions.storage.s3blobs import S3BlobStore

from tests.helpers.s3 import SeaweedS3, list_keys
from tests.helpers.server import ServerProcess

MiB = 1024 * 1024


def _bucket(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:12]}"


def test_artifacts_in_s3_dedup_and_gc(s3_env: SeaweedS3, postgres_dsn: str, tmp_path: Path) -> None:
    bucket = _bucket("engine")
    content = os.urandom(5 * MiB)
    with SessionManager(
        storage_backend="postgres", postgres_dsn=postgres_dsn, storage_path=str(tmp_path), start_sweeper=False,
        blob_store="s3", s3_endpoint=s3_env.endpoint, s3_bucket=bucket, s3_prefix="p/", chunk_gc_grace=0,
    ) as m:  # fmt: skip
        first, second = m.create_session(name="first"), m.create_session(name="second")
        a1 = m.store_artifact(first, "big", content)
        keys = list_keys(s3_env, bucket, "p/chunks/")
        info = m.get_artifact(first, a1)[0]
        assert len(keys) == info.chunk_count > 1  # one object per chunk (random data: no chunk repeats)
        a2 = m.store_artifact(second, "copy", content)
        assert m.get_artifact(second, a2)[0].new_bytes == 0 and list_keys(s3_env, bucket, "p/chunks/") == keys
        assert m.get_artifact(first, a1)[1] == content
        assert not (tmp_path / "segments").exists()  # no chunk byte went to local files

        m.delete_artifact(a1)
        m.collect_garbage()
        assert list_keys(s3_env, bucket, "p/chunks/") == keys  # still referenced by the second session
        m.delete_session(second)
        m.collect_garbage()
        assert list_keys(s3_env, bucket, "p/chunks/") == []  # unreferenced: the objects are deleted


def test_configuration_builds_the_s3_blob_store(s3_env: SeaweedS3) -> None:
    bucket = _bucket("config")
    environ = {"LLMSPELL_SESSION_BLOB_STORE": "s3", "LLMSPELL_SESSION_S3_ENDPOINT": s3_env.endpoint,
               "LLMSPELL_SESSION_S3_BUCKET": bucket, "LLMSPELL_SESSION_S3_PREFIX": "x/"}  # fmt: skip
    config = load_config(environ=environ)[0]
    blobs = build_blob_store(config)
    try:
        assert isinstance(blobs, S3BlobStore) and (blobs.bucket, blobs.prefix) == (bucket, "x/")
    finally:
        blobs.close()
    with pytest.raises(InvalidArgument, match="s3_bucket"):
        load_config(environ={"LLMSPELL_SESSION_BLOB_STORE": "s3", "LLMSPELL_SESSION_S3_ENDPOINT": s3_env.endpoint})
    with pytest.raises(InvalidArgument, match="s3_endpoint"):
        load_config(overrides={"blob_store": "s3", "s3_bucket": bucket})
    with pytest.raises(InvalidArgument, match="blob_store"):
        load_config(overrides={"blob_store": "tape"})


def test_serve_with_blob_store_s3(server_factory: Callable[..., ServerProcess], s3_env: SeaweedS3) -> None:
    from llmspell_sessions.client import SessionClient

    bucket = _bucket("serve")
    server = server_factory(
        env=s3_env.env(), args=["--blob-store", "s3", "--s3-endpoint", s3_env.endpoint, "--s3-bucket", bucket]
    )
    content = os.urandom(20 * MiB)
    parts = [content[i : i + MiB] for i in range(0, len(content), MiB)]
    with SessionClient(server.address, timeout=120) as client:
        sid = client.create_session(name="over s3")
        artifact = client.upload_artifact(UploadHeader(sid, "big"), parts)
        assert artifact.content_digest == blake3(content).hexdigest() and artifact.size == len(content)
        info, chunks = client.download_artifact(artifact.artifact_id)
        downloaded = b"".join(chunks)
    assert hashlib.sha256(downloaded).digest() == hashlib.sha256(content).digest()
    assert info.content_digest == artifact.content_digest
    assert len(list_keys(s3_env, bucket, "chunks/")) == artifact.chunk_count
