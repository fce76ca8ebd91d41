"""Chunk bytes in RocksDB BlobDB vs our append-only segment files: 100 MiB of 64 KiB chunks, one
WriteBatch per 4 MiB, synced at the end (what an upload does). Run: .venv/bin/python bench/storage_choice.py"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import rocksdict

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from llmspell_sessions.storage.blobs import SegmentBlobStore  # noqa: E402

N, SIZE = 1600, 65536  # 100 MiB of 64 KiB chunks
chunks = [os.urandom(SIZE) for _ in range(N)]


def blobdb() -> float:
    """MiB/s writing the chunks as BlobDB values (through the WAL)."""
    d = tempfile.mkdtemp(dir=os.environ.get("TMPDIR", "/tmp"))
    o = rocksdict.Options(raw_mode=True)
    o.create_if_missing(True)
    o.set_enable_blob_files(True)
    o.set_min_blob_size(4096)
    o.set_blob_file_size(256 << 20)
    db = rocksdict.Rdict(d, o)
    t = time.perf_counter()
    for start in range(0, N, 64):  # one WriteBatch per 4 MiB, as the pipeline does
        wb = rocksdict.WriteBatch(raw_mode=True)
        for i in range(start, min(N, start + 64)):
            wb.put(i.to_bytes(8, "big"), chunks[i])
        db.write(wb)
    db.flush_wal(True)
    el = time.perf_counter() - t
    db.close()
    return N * SIZE / el / 2**20


def segments() -> float:
    """MiB/s appending the chunks to a segment and writing 16-byte locations to RocksDB."""
    d = tempfile.mkdtemp(dir=os.environ.get("TMPDIR", "/tmp"))
    s = SegmentBlobStore(d)
    o = rocksdict.Options(raw_mode=True)
    o.create_if_missing(True)
    db = rocksdict.Rdict(d + "/db", o)
    t = time.perf_counter()
    for start in range(0, N, 64):
        locs = s.append(chunks[start : start + 64])
        wb = rocksdict.WriteBatch(raw_mode=True)
        for i, loc in zip(range(start, start + len(locs)), locs, strict=True):
            wb.put(i.to_bytes(8, "big"), loc)
        db.write(wb)
    s.sync()
    db.flush_wal(True)
    el = time.perf_counter() - t
    db.close()
    s.close()
    return N * SIZE / el / 2**20


if __name__ == "__main__":
    for r in range(3):
        print(f"round {r}: blobdb {blobdb():.0f} MiB/s, segments {segments():.0f} MiB/s")
