"""Storage ceilings: raw rocksdict put, synced put, get, multi_get of 64 keys, fsync'd 4 KiB file write.

These are the floors the engine's figures are compared against. The synced put and the fsync'd file
write are interleaved (both wait on the same disk); so are the unsynced put, get and multi_get.
"""

from __future__ import annotations

from ..ceilings import MULTI_GET_KEYS, RawRocks, SyncedFile
from ..framework import LATENCY, Contender, Context, Figure

NAME = "ceilings"
ORDER = 10


def run(ctx: Context) -> None:
    """Measures the raw store and the disk."""
    rocks = RawRocks(ctx.tempdir("ceiling-rocks") / "db")
    synced = SyncedFile(ctx.tempdir("ceiling-fsync") / "file")
    try:
        memory_ops = [
            Contender("rocksdict put", rocks.put, batch=8),
            Contender("rocksdict get", rocks.get, batch=8),
            Contender(f"rocksdict multi_get {MULTI_GET_KEYS}", rocks.multi_get),
        ]
        fast = ctx.interleave(memory_ops, ctx.count(20_000, 3_000), warmup=200, label="raw put/get/multi_get")
        slow_ops = [
            Contender("rocksdict put sync", rocks.put_sync),
            Contender("fsync 4 KiB file", synced.write),
        ]
        slow = ctx.interleave(slow_ops, ctx.count(5_000, 500), rounds=10, warmup=10, label="synced put / fsync")
    finally:
        rocks.close()
        synced.close()
    for name, summary in fast.items():
        ctx.record(Figure(NAME, name, "raw", LATENCY, summary, interleaved=True))
    per_key = {"per_key_p50_ns": fast[f"rocksdict multi_get {MULTI_GET_KEYS}"].p50 / MULTI_GET_KEYS}
    ctx.figures[-1].info.update(per_key)
    ctx.record(
        Figure(
            NAME,
            "rocksdict put sync",
            "raw",
            LATENCY,
            slow["rocksdict put sync"],
            ceiling_name="fsync 4 KiB file",
            ceiling=slow["fsync 4 KiB file"],
            interleaved=True,
        )
    )
    ctx.record(Figure(NAME, "fsync 4 KiB file", "raw", LATENCY, slow["fsync 4 KiB file"], interleaved=True))
