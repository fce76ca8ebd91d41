"""`workers` as configuration: the TOML [server] table, checked once with the backend it needs."""

from __future__ import annotations

from pathlib import Path

import pytest
from llmspell_sessions.config import load_config
from llmspell_sessions.errors import InvalidArgument


def _load(tmp_path: Path, text: str) -> int:
    config = tmp_path / "config.toml"
    config.write_text(text)
    return load_config(config, environ={})[1].workers


def test_workers_from_the_server_table_with_postgres_and_s3(tmp_path: Path) -> None:
    text = (
        'storage_backend = "postgres"\npostgres_dsn = "host=db"\n'
        'blob_store = "s3"\ns3_endpoint = "http://127.0.0.1:8333"\ns3_bucket = "b"\n[server]\nworkers = 3\n'
    )
    assert _load(tmp_path, text) == 3


@pytest.mark.parametrize("blob_store", ["", 'blob_store = "segments"\n'])
def test_segment_files_refuse_more_than_one_worker(tmp_path: Path, blob_store: str) -> None:
    text = f'storage_backend = "postgres"\npostgres_dsn = "host=db"\n{blob_store}[server]\nworkers = 2\n'
    with pytest.raises(InvalidArgument, match=r"needs a shared blob store \(--blob-store s3\)") as caught:
        _load(tmp_path, text)
    assert caught.value.metadata["field"] == "workers"


def test_default_is_one_worker_on_any_backend(tmp_path: Path) -> None:
    assert _load(tmp_path, 'storage_backend = "memory"\n') == 1


@pytest.mark.parametrize("workers", [0, -2])
def test_fewer_than_one_worker_is_refused(tmp_path: Path, workers: int) -> None:
    with pytest.raises(InvalidArgument, match="workers must be >= 1") as caught:
        _load(tmp_path, f"[server]\nworkers = {workers}\n")
    assert caught.value.metadata["field"] == "workers"


def test_rocksdb_refuses_workers_from_the_file_too(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="RocksDB is opened by one process"):
        _load(tmp_path, "[server]\nworkers = 2\n")
