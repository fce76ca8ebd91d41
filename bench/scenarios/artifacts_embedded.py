"""Embedded put_artifact of a 100 KiB JSON-lines transcript on RocksDB, next to the raw compute it needs.

Interleaved: ``SessionManager.put_artifact`` of new content (a fresh transcript before each sample,
untimed), of content already stored (the same bytes again, as the next version), the raw
BLAKE3 + LZ4 of the same 100 KiB (BLAKE3 of the whole and of each 64 KiB block, LZ4 of each block:
the hot path's compute with no engine and no storage) and an fsync'd 4 KiB file write (a new
artifact's chunk bytes are synced before its record commits).
"""

from __future__ import annotations

import itertools

import lz4.block
from blake3 import blake3

from .. import payloads
from ..ceilings import SyncedFile
from ..framework import LATENCY, Contender, Context, Figure, Target
from ..processes import UNLIMITED_CONFIG

NAME = "embedded-artifacts"
ORDER = 25
SIZE = 100 * 1024
BLOCK = 64 * 1024
RAW = "blake3+lz4 raw"
FSYNC = "fsync 4 KiB file"


def raw_compute(data: bytes) -> None:
    blake3(data).digest()
    view = memoryview(data)
    for offset in range(0, len(data), BLOCK):
        block = view[offset : offset + BLOCK]
        blake3(block).digest()
        lz4.block.compress(block, store_size=False)


def run(ctx: Context) -> None:
    from llmspell_sessions import SessionManager
    from llmspell_sessions.model import ArtifactType, UploadHeader

    seeds = itertools.count(1)
    synced = SyncedFile(ctx.tempdir("embedded-artifacts-fsync") / "file")
    path = ctx.tempdir("embedded-artifacts") / "store"
    manager = SessionManager(storage_backend="rocksdb", storage_path=str(path), start_sweeper=False, **UNLIMITED_CONFIG)
    try:
        sid = manager.create_session(name="bench")
        names = itertools.count()
        current = [payloads.transcript(SIZE, 0)]
        same = payloads.transcript(SIZE, 10**9)

        def put(data: bytes) -> None:
            manager.put_artifact(UploadHeader(sid, f"a{next(names)}", ArtifactType.AGENT_OUTPUT), data)

        manager.put_artifact(UploadHeader(sid, "same", ArtifactType.AGENT_OUTPUT), same)
        contenders = [
            Contender(
                "put_artifact new",
                lambda: put(current[0]),
                setup=lambda: current.__setitem__(0, payloads.transcript(SIZE, next(seeds))),
            ),
            Contender(
                "put_artifact already stored",
                lambda: manager.put_artifact(UploadHeader(sid, "same", ArtifactType.AGENT_OUTPUT), same),
            ),
            Contender(RAW, lambda: raw_compute(current[0])),
            Contender(FSYNC, synced.write),
        ]
        found = ctx.interleave(contenders, ctx.count(2000, 300), warmup=20, label="put_artifact 100 KiB")
    finally:
        manager.close()
        synced.close()
    info = {"bytes": SIZE, "data": "JSON-lines transcript", "backend": "rocksdb", "lz4_block": BLOCK}
    for name, target in (("put_artifact new", Target.at_most_us(1000)), ("put_artifact already stored", None)):
        ctx.record(
            Figure(
                NAME,
                name,
                "100 KiB json",
                LATENCY,
                found[name],
                ceiling_name=RAW,
                ceiling=found[RAW],
                target=target,
                interleaved=True,
                info=info,
            )
        )
    for name in (RAW, FSYNC):
        ctx.record(
            Figure(
                NAME, name, "100 KiB json" if name == RAW else "raw", LATENCY, found[name], interleaved=True, info=info
            )
        )
