"""The S3 endpoint of the tests: the package's SeaweedFS starter (``weed mini`` on loopback, signed
requests), plus what only tests need: a boto3 client to look into a bucket."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from llmspell_sessions.devcluster.objectstore import SeaweedS3

ROOT = Path(__file__).resolve().parents[2]

__all__ = ["SeaweedS3", "find_weed", "list_keys", "s3_client"]


def find_weed() -> str | None:
    """The weed binary: $LLMSPELL_WEED, this checkout's .tools/bin/weed, or PATH."""
    for candidate in (os.environ.get("LLMSPELL_WEED", ""), str(ROOT / ".tools" / "bin" / "weed")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("weed")


def s3_client(store: SeaweedS3) -> Any:
    """A boto3 S3 client for the endpoint (for tests that look into a bucket)."""
    import boto3
    from botocore.config import Config

    config = Config(s3={"addressing_style": "path"}, connect_timeout=1, read_timeout=5,
                    retries={"max_attempts": 1}, request_checksum_calculation="when_required")  # fmt: skip
    return boto3.client("s3", endpoint_url=store.endpoint, region_name=store.region, config=config,
                        aws_access_key_id=store.access_key, aws_secret_access_key=store.secret_key)  # fmt: skip


def list_keys(store: SeaweedS3, bucket: str, prefix: str = "") -> list[str]:
    """Every key in a bucket under a prefix."""
    pages = s3_client(store).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]
