"""The archive format, version 1 (docs/archive-format.md): member names, the manifest, and the JSON
form of each record kind. Domain values <-> JSON only; the writer and reader do the I/O.

Times are RFC 3339 UTC text with microseconds (exact: the store keeps microseconds), enums their
names. Every decode checks types and raises InvalidArchive naming the member, never KeyError.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from ...errors import InvalidArchive
from ...model import Artifact, ArtifactType, Checkpoint, Event, Session, SessionState
from ..artifacts.records import ArtifactRecord

FORMAT = "llmspell-sessions-archive"
VERSION = 1
MANIFEST = "manifest.json"
SEAL = "manifest.blake3"  # the manifest's digest, last: a cut archive lacks it
SESSION_DIR = "sessions/"
CHUNK_DIR = "chunks/"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def invalid(message: str, member: str = "") -> InvalidArchive:
    return InvalidArchive(message, member=member or None)


def session_member(session_id: str) -> str:
    return f"{SESSION_DIR}{session_id}.jsonl"


def chunk_member(digest: bytes) -> str:
    return f"{CHUNK_DIR}{digest.hex()}"


def chunk_digest(name: str) -> bytes | None:
    """The digest a chunk member's name gives, or None if the name is not a chunk member's."""
    hex_digest = name[len(CHUNK_DIR) :] if name.startswith(CHUNK_DIR) else ""
    return bytes.fromhex(hex_digest) if _HEX64.match(hex_digest) else None


# -- times --------------------------------------------------------------------------------------------


def time_text(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(value: Any, member: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(require(value, str, "time", member)).astimezone(UTC)
    except ValueError:
        raise invalid(f"{value!r} is not an RFC 3339 time", member) from None


def require(value: Any, kind: type | tuple[type, ...], what: str, member: str) -> Any:
    """value if it is of kind (bool is never an int here), else InvalidArchive."""
    if isinstance(value, kind) and not (isinstance(value, bool) and kind in (int, (int, float))):
        return value
    raise invalid(f"{what}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}", member)


# -- records --------------------------------------------------------------------------------------------


def session_to_json(s: Session, *, expiry: bool = False) -> dict[str, Any]:
    """A session record; ``expire_time`` only inside snapshots (a live record's is recomputed on import)."""
    data = {
        "session_id": s.session_id,
        "name": s.name,
        "description": s.description,
        "tags": s.tags,
        "metadata": s.metadata,
        "state": s.state.name,
        "parent_session_id": s.parent_session_id,
        "created_by": s.created_by,
        "create_time": time_text(s.create_time),
        "update_time": time_text(s.update_time),
        "end_time": time_text(s.end_time),
        "active_since": time_text(s.active_since),
        "artifact_count": s.artifact_count,
        "artifact_bytes": s.artifact_bytes,
        "last_event_seq": s.last_event_seq,
        "failure_reason": s.failure_reason,
        "grants": s.grants,
        "state_bytes": s.state_bytes,
    }
    if expiry:
        data["expire_time"] = time_text(s.expire_time)
    return data


def session_from_json(d: dict[str, Any], member: str) -> Session:
    try:
        state = SessionState[require(d["state"], str, "state", member)]
        return Session(
            session_id=require(d["session_id"], str, "session_id", member),
            name=require(d["name"], str, "name", member),
            description=require(d["description"], str, "description", member),
            tags=require(d["tags"], list, "tags", member),
            metadata=require(d["metadata"], dict, "metadata", member),
            state=state,
            parent_session_id=require(d["parent_session_id"], str, "parent_session_id", member),
            created_by=require(d["created_by"], str, "created_by", member),
            create_time=parse_time(d["create_time"], member),
            update_time=parse_time(d["update_time"], member),
            end_time=parse_time(d["end_time"], member),
            expire_time=parse_time(d.get("expire_time"), member),
            artifact_count=require(d["artifact_count"], int, "artifact_count", member),
            artifact_bytes=require(d["artifact_bytes"], int, "artifact_bytes", member),
            last_event_seq=require(d["last_event_seq"], int, "last_event_seq", member),
            failure_reason=require(d["failure_reason"], str, "failure_reason", member),
            active_since=parse_time(d["active_since"], member),
            grants=require(d["grants"], dict, "grants", member),
            state_bytes=require(d["state_bytes"], int, "state_bytes", member),
        )
    except (KeyError, TypeError) as exc:
        raise invalid(f"session record lacks {exc}", member) from None


def event_to_json(e: Event) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "type": e.type,
        "time": time_text(e.time),
        "actor": e.actor,
        "correlation_id": e.correlation_id,
        "causation_id": e.causation_id,
        "payload": e.payload,
    }


def event_from_json(session_id: str, d: dict[str, Any], member: str) -> Event:
    try:
        return Event(
            session_id,
            require(d["seq"], int, "seq", member),
            require(d["type"], str, "type", member),
            parse_time(require(d["time"], str, "time", member), member),  # type: ignore[arg-type]
            require(d["actor"], str, "actor", member),
            require(d["correlation_id"], str, "correlation_id", member),
            require(d["causation_id"], str, "causation_id", member),
            require(d["payload"], dict, "payload", member),
        )
    except KeyError as exc:
        raise invalid(f"event lacks {exc}", member) from None


def checkpoint_to_json(c: Checkpoint, base_seq: int, snapshot: dict[str, Any]) -> dict[str, Any]:
    return {
        "checkpoint_id": c.checkpoint_id,
        "seq": c.seq,
        "label": c.label,
        "create_time": time_text(c.create_time),
        "base_seq": base_seq,
        "snapshot": snapshot,
    }


def checkpoint_from_json(session_id: str, d: dict[str, Any], member: str) -> tuple[Checkpoint, int, dict[str, Any]]:
    try:
        checkpoint = Checkpoint(
            require(d["checkpoint_id"], str, "checkpoint_id", member),
            session_id,
            require(d["seq"], int, "seq", member),
            require(d["label"], str, "label", member),
            parse_time(d["create_time"], member),
        )
        return (
            checkpoint,
            require(d["base_seq"], int, "base_seq", member),
            require(d["snapshot"], dict, "snapshot", member),
        )
    except KeyError as exc:
        raise invalid(f"checkpoint lacks {exc}", member) from None


def artifact_to_json(r: ArtifactRecord) -> dict[str, Any]:
    a = r.artifact
    return {
        "artifact_id": a.artifact_id,
        "name": a.name,
        "version": a.version,
        "type": ArtifactType(a.type).name,
        "custom_type": a.custom_type,
        "description": a.description,
        "tags": a.tags,
        "mime_type": a.mime_type,
        "metadata": a.metadata,
        "size": a.size,
        "content_digest": a.content_digest,
        "stored_size": a.stored_size,
        "compressed": a.compressed,
        "chunk_count": a.chunk_count,
        "new_bytes": a.new_bytes,
        "parent_artifact_id": a.parent_artifact_id,
        "previous_digest": a.previous_digest,
        "create_time": time_text(a.create_time),
        "created_by": a.created_by,
        "stored_seq": r.stored_seq,
        "deleted_seq": r.deleted_seq,
        "chunks": [[digest.hex(), size] for digest, size in r.chunks],
    }


def artifact_from_json(session_id: str, d: dict[str, Any], member: str) -> ArtifactRecord:
    def text(key: str) -> str:
        return require(d[key], str, key, member)  # type: ignore[no-any-return]

    def number(key: str) -> int:
        return require(d[key], int, key, member)  # type: ignore[no-any-return]

    try:
        artifact = Artifact(
            text("artifact_id"), session_id, text("name"), number("version"), ArtifactType[text("type")],
            text("custom_type"), text("description"), require(d["tags"], list, "tags", member), text("mime_type"),
            require(d["metadata"], dict, "metadata", member), number("size"), text("content_digest"),
            number("stored_size"), require(d["compressed"], bool, "compressed", member), number("chunk_count"),
            number("new_bytes"), text("parent_artifact_id"), text("previous_digest"),
            parse_time(d["create_time"], member), text("created_by"),
        )  # fmt: skip
        chunks = [_chunk_entry(entry, member) for entry in require(d["chunks"], list, "chunks", member)]
        return ArtifactRecord(artifact, chunks, number("stored_seq"), number("deleted_seq"))
    except KeyError as exc:
        raise invalid(f"artifact record lacks {exc}", member) from None


def _chunk_entry(entry: Any, member: str) -> tuple[bytes, int]:
    if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str) and _HEX64.match(entry[0])):
        raise invalid("a chunk entry is not [hex digest, size]", member)
    return bytes.fromhex(entry[0]), require(entry[1], int, "chunk size", member)
