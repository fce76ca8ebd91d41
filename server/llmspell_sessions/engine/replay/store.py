"""How checkpoints are kept in the ``checkpoints`` column family.

    session key + checkpoint id                      -> Checkpoint (seq, label, time) + its base seq
    session key NUL + base seq (8, BE) + checkpoint id -> the materialised Snapshot at the base seq

A checkpoint at seq N stores the snapshot of some base seq <= N (N - 1 for checkpoint.created, whose
record time is only known inside the commit; N for automatic checkpoints; 0 for a fork's origin);
GetSnapshot replays the events in between. Bodies are keyed by base seq so "the nearest snapshot
<= N" is one reverse seek, and listings never read a body. Checkpoint ids start with a hex digit, so
the two kinds of keys never mix (NUL sorts first).
"""

from __future__ import annotations

from collections.abc import Iterator

import orjson

from ...model import Checkpoint
from ...storage import Storage, WriteBatch
from ...storage.keys import (
    CHECKPOINT_ID_BYTES,
    SEQ_BYTES,
    checkpoint_body_key,
    checkpoint_body_prefix,
    checkpoint_key,
)
from ..codec import decode_checkpoint, encode_checkpoint
from .snapshot import Snapshot


def put_checkpoint(batch: WriteBatch, skey: bytes, checkpoint: Checkpoint, base: Snapshot) -> None:
    """Adds a checkpoint and the snapshot it starts from to batch."""
    batch.put(
        "checkpoints",
        checkpoint_key(skey, checkpoint.checkpoint_id),
        encode_checkpoint(checkpoint, {"base": base.seq}),
    )
    batch.put(
        "checkpoints", checkpoint_body_key(skey, base.seq, checkpoint.checkpoint_id), orjson.dumps(base.to_json())
    )


def get_checkpoint(storage: Storage, skey: bytes, session_id: str, checkpoint_id: str) -> tuple[Checkpoint, int] | None:
    """(checkpoint, base seq) or None."""
    raw = storage.get("checkpoints", checkpoint_key(skey, checkpoint_id))
    if raw is None:
        return None
    checkpoint, extra = decode_checkpoint(session_id, raw)
    return checkpoint, int(extra["base"])


def nearest_snapshot(storage: Storage, skey: bytes, seq: int) -> Snapshot | None:
    """The stored snapshot with the greatest base seq <= seq, or None."""
    prefix = checkpoint_body_prefix(skey)
    start = prefix + seq.to_bytes(SEQ_BYTES, "big") + b"\xff"
    for _, value in storage.scan("checkpoints", prefix, start=start, reverse=True):
        return Snapshot.from_json(orjson.loads(value))
    return None


def has_snapshot_at(storage: Storage, skey: bytes, seq: int) -> bool:
    prefix = checkpoint_body_prefix(skey) + seq.to_bytes(SEQ_BYTES, "big")
    return next(iter(storage.scan("checkpoints", prefix)), None) is not None


def scan_checkpoints(
    storage: Storage, skey: bytes, session_id: str, after_key: bytes = b""
) -> Iterator[tuple[bytes, Checkpoint]]:
    """(key, checkpoint) of every checkpoint of a session, oldest first, strictly after after_key."""
    width = len(skey) + CHECKPOINT_ID_BYTES
    start = after_key or skey + b"0"
    for key, value in storage.scan("checkpoints", skey, start=start):
        if key == after_key or len(key) != width:
            continue
        yield key, decode_checkpoint(session_id, value)[0]
