"""Writing archives: one session's member (read under its lock), then the tar stream.

A session member is JSON lines, in this order: the record, the state entries (key order), the events
(seq order), the checkpoints (id order) and the artifact records (id order, deleted ones included).
The same bytes come out for the same session wherever it is stored, so import compares an existing
session with the archive's by the digest of this member.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, BinaryIO

import orjson
from blake3 import blake3

from ...model import Session
from ...storage import Storage, keys
from ..artifacts import ArtifactStore
from ..codec import UNKNOWN_STATE_BYTES, decode_checkpoint, decode_event
from ..replay.snapshot import Snapshot
from . import format as fmt


def session_lines(storage: Storage, artifacts: ArtifactStore, skey: bytes, session: Session) -> Iterator[dict]:
    """The member's lines of one session (call with its row locked, so they agree with each other)."""
    sid = session.session_id
    prefix = keys.state_prefix(skey)
    state = [(k[len(prefix) :].decode(), v) for k, v in storage.scan("state", prefix)]
    head = fmt.session_to_json(session)
    if session.state_bytes == UNKNOWN_STATE_BYTES:  # a record older than state sizes: count them now
        head["state_bytes"] = sum(len(name.encode()) + len(value) for name, value in state)
    yield {"kind": "session", "session": head}
    for name, value in state:
        yield {"kind": "state", "key": name, "value": orjson.loads(value)}
    for _, raw in storage.scan("events", skey):
        yield {"kind": "event", **fmt.event_to_json(decode_event(sid, raw))}
    width = len(skey) + keys.CHECKPOINT_ID_BYTES
    for key, raw in storage.scan("checkpoints", skey, start=skey + b"0"):
        if len(key) != width:
            continue
        checkpoint, extra = decode_checkpoint(sid, raw)
        base = int(extra["base"])
        body = storage.get("checkpoints", keys.checkpoint_body_key(skey, base, checkpoint.checkpoint_id))
        yield {"kind": "checkpoint", **fmt.checkpoint_to_json(checkpoint, base, snapshot_to_json(body))}
    for record in artifacts.session_records(skey, with_chunks=True):
        yield {"kind": "artifact", **fmt.artifact_to_json(record)}


def snapshot_to_json(body: bytes | None) -> dict[str, Any]:
    """A stored snapshot in the archive's form (its session record as in the session line)."""
    if body is None:
        return {}
    snapshot = Snapshot.from_json(orjson.loads(body))
    session = fmt.session_to_json(snapshot.session, expiry=True) if snapshot.session is not None else None
    return {
        "seq": snapshot.seq,
        "session": session,
        "state": snapshot.state,
        "artifacts": list(snapshot.artifacts.items()),
    }


def encode_member(lines: Iterator[dict]) -> tuple[bytes, dict[bytes, int]]:
    """(member bytes, live chunk digest -> logical size) of a session's lines."""
    out, chunks = bytearray(), dict[bytes, int]()
    for line in lines:
        out += orjson.dumps(line) + b"\n"
        if line["kind"] == "artifact" and not line["deleted_seq"]:
            chunks.update((bytes.fromhex(d), n) for d, n in line["chunks"])
    return bytes(out), chunks


def member_entry(name: str, data: bytes) -> dict[str, Any]:
    return {"name": name, "size": len(data), "blake3": blake3(data).hexdigest()}


def write_archive(
    out: BinaryIO,
    members: list[tuple[str, bytes]],
    chunks: dict[bytes, int],
    read_chunk: Callable[[bytes], bytes],
    created: datetime,
) -> None:
    """The tar stream: manifest, session members, chunks (each once), then the manifest's digest."""
    entries = [member_entry(fmt.session_member(sid), data) for sid, data in members]
    # A chunk member's bytes are the chunk itself: its name is its BLAKE3, known before it is read.
    entries += [{"name": fmt.chunk_member(d), "size": n, "blake3": d.hex()} for d, n in chunks.items()]
    manifest = orjson.dumps(
        {
            "format": fmt.FORMAT,
            "version": fmt.VERSION,
            "created": fmt.time_text(created),
            "sessions": [{"session_id": sid, "member": fmt.session_member(sid)} for sid, _ in members],
            "members": entries,
        },
        option=orjson.OPT_INDENT_2,
    )
    mtime = int(created.timestamp())
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, fmt.MANIFEST, manifest, mtime)
        for sid, data in members:
            _add(tar, fmt.session_member(sid), data, mtime)
        for digest, size in chunks.items():
            data = read_chunk(digest)
            if len(data) != size:
                raise fmt.invalid(f"chunk {digest.hex()} is {len(data)} bytes, its artifacts say {size}")
            _add(tar, fmt.chunk_member(digest), data, mtime)
        _add(tar, fmt.SEAL, blake3(manifest).hexdigest().encode(), mtime)


def _add(tar: tarfile.TarFile, name: str, data: bytes, mtime: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), mtime, 0o644
    tar.addfile(info, io.BytesIO(data))


__all__ = ["encode_member", "session_lines", "write_archive"]
