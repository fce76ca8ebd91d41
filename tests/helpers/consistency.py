"""The store checker (``llmspell-sessions check``) as test helpers: in-process, or as the real command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from llmspell_sessions.check import CheckReport, check_storage, format_report
from llmspell_sessions.check import check_store as run_check

SHARED_STORES: dict[Path, dict[str, str]] = {}
"""Store paths of the suite's PostgreSQL pass: path -> the SessionManager settings that open that
store (records in PostgreSQL, chunk bytes in a bucket of the object store)."""


def store_settings(path: Path) -> dict[str, str]:
    """SessionManager settings that open the store a server kept at path (RocksDB, or shared)."""
    return {"storage_path": str(path), **SHARED_STORES.get(Path(path), {})}


def _checked(path: Path) -> CheckReport:
    settings = SHARED_STORES.get(Path(path))
    if settings is None:
        return run_check(path)
    from llmspell_sessions.storage.postgres import PostgresStorage
    from llmspell_sessions.storage.s3blobs import S3BlobStore

    storage = PostgresStorage(settings["postgres_dsn"])
    blobs = S3BlobStore(settings["s3_endpoint"], settings["s3_bucket"])
    try:
        return check_storage(storage, blobs, name=settings["postgres_dsn"])
    finally:
        storage.close()
        blobs.close()


def check_store(path: Path, tenant: str = "default") -> dict[str, int]:
    """Asserts the store at path is consistent (every check of llmspell_sessions.check, bytes verified);
    returns the tenant's sessions per state name."""
    report = _checked(path)
    assert report.ok, format_report(report)
    return dict(report.states.get(tenant, {}))


def check_store_command(path: Path, tenant: str = "default") -> dict[str, int]:
    """Like check_store, through the real ``llmspell-sessions check --path DIR --json`` command."""
    if Path(path) in SHARED_STORES:  # the command opens RocksDB directories only
        return check_store(path, tenant)
    command = [sys.executable, "-m", "llmspell_sessions", "check", "--path", str(path), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"check exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return dict(json.loads(done.stdout)["sessions_by_state"].get(tenant, {}))
