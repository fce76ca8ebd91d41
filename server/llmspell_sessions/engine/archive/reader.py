"""Reading archives: every member checked (names, sizes, BLAKE3 digests, the manifest's seal), every
session member parsed and checked for consistency, before import writes anything.

The source must be seekable (import spools a stream to a temporary file first): chunk bytes are read
once to verify them here and again when they are stored.
"""

from __future__ import annotations

import tarfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

import orjson
from blake3 import blake3

from ...errors import InvalidArchive, InvalidArgument
from ...model import Checkpoint, Event, Session
from .. import validation
from ..artifacts.records import ArtifactRecord
from ..replay.snapshot import Snapshot, entry_bytes
from . import format as fmt

MAX_MANIFEST_BYTES = 64 * 1024 * 1024
# What tarfile raises on bytes that are not a (whole) tar: the archive's fault, never ours.
_UNREADABLE = (tarfile.TarError, EOFError, OSError, ValueError, UnicodeError)


@dataclass(slots=True)
class ArchivedSession:
    """One session as the archive holds it, parsed and checked."""

    session: Session
    member_digest: str
    state: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    checkpoints: list[tuple[Checkpoint, Snapshot]] = field(default_factory=list)
    artifacts: list[ArtifactRecord] = field(default_factory=list)

    def live_chunks(self) -> Counter[bytes]:
        """One reference per chunk occurrence in a live artifact (what the session will hold)."""
        return Counter(d for r in self.artifacts if r.live for d, _ in r.chunks)


@dataclass(slots=True)
class Archive:
    """A verified archive: its sessions, and its chunk members (read on demand)."""

    created: datetime | None
    sessions: list[ArchivedSession]
    chunk_sizes: dict[bytes, int]
    _tar: tarfile.TarFile
    _members: dict[str, tarfile.TarInfo]

    def read_chunk(self, digest: bytes) -> bytes:
        """A chunk's bytes, verified again (they are read from a file since the first check)."""
        name = fmt.chunk_member(digest)
        data = _read(self._tar, self._members[name])
        if blake3(data).digest() != digest:
            raise fmt.invalid("chunk fails its digest check", name)
        return data


def read_archive(source: BinaryIO) -> Archive:
    """The archive in source, verified; InvalidArchive (nothing written) when anything is off."""
    try:
        tar = tarfile.open(fileobj=source, mode="r:")
        infos = tar.getmembers()
    except _UNREADABLE as exc:
        raise fmt.invalid(f"not a readable archive: {exc}") from None
    members = _member_table(infos)
    manifest_bytes = _read(tar, members[fmt.MANIFEST], MAX_MANIFEST_BYTES)
    seal = _read(tar, members[fmt.SEAL], 128).decode(errors="replace")
    if seal != blake3(manifest_bytes).hexdigest():
        raise fmt.invalid("the manifest does not match its digest", fmt.SEAL)
    manifest = _manifest(manifest_bytes)
    entries = _entries(manifest, members)
    chunk_sizes: dict[bytes, int] = {}
    session_data: dict[str, tuple[bytes, str]] = {}
    for name, (size, digest) in entries.items():
        data = _read(tar, members[name], size + 1)
        actual = blake3(data).hexdigest()
        if len(data) != size or actual != digest:
            raise fmt.invalid(f"{name} fails its size or digest check (truncated or changed)", name)
        chunk = fmt.chunk_digest(name)
        if chunk is not None:
            chunk_sizes[chunk] = size
        else:
            session_data[name] = (data, digest)
    sessions = [_session(entry, session_data, chunk_sizes) for entry in manifest["sessions"]]
    if len(sessions) != len(session_data) or len({s.session.session_id for s in sessions}) != len(sessions):
        raise fmt.invalid("the manifest's sessions and the session members differ", fmt.MANIFEST)
    artifact_ids = [r.artifact.artifact_id for s in sessions for r in s.artifacts]
    if len(set(artifact_ids)) != len(artifact_ids):
        raise fmt.invalid("an artifact id appears twice", fmt.MANIFEST)
    archive = Archive(fmt.parse_time(manifest.get("created"), fmt.MANIFEST), sessions, chunk_sizes, tar, members)
    for session in sessions:
        _check_contents(archive, session)
    return archive


def _member_table(infos: list[tarfile.TarInfo]) -> dict[str, tarfile.TarInfo]:
    if not infos or infos[0].name != fmt.MANIFEST:
        raise fmt.invalid("the archive does not start with its manifest")
    if infos[-1].name != fmt.SEAL:
        raise fmt.invalid("the archive ends early: its last member is missing (truncated?)")
    members: dict[str, tarfile.TarInfo] = {}
    for info in infos:
        if not info.isfile() or info.name in members:
            raise fmt.invalid("a member is not a regular file, or appears twice", info.name)
        members[info.name] = info
    return members


def _read(tar: tarfile.TarFile, info: tarfile.TarInfo, limit: int = -1) -> bytes:
    try:
        handle = tar.extractfile(info)
        assert handle is not None  # regular files only (_member_table)
        return handle.read(limit)
    except _UNREADABLE as exc:
        raise fmt.invalid(f"cannot read the member: {exc} (truncated?)", info.name) from None


def _manifest(data: bytes) -> dict[str, Any]:
    try:
        manifest = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise fmt.invalid("the manifest is not JSON", fmt.MANIFEST) from None
    if not isinstance(manifest, dict) or manifest.get("format") != fmt.FORMAT:
        raise fmt.invalid("not an llmspell-sessions archive", fmt.MANIFEST)
    version = manifest.get("version")
    if version != fmt.VERSION:
        newer = isinstance(version, int) and version > fmt.VERSION
        raise fmt.invalid(
            f"archive format version {version!r}: this release reads version {fmt.VERSION}"
            + (" (the archive is newer: upgrade)" if newer else ""),
            fmt.MANIFEST,
        )
    fmt.require(manifest.get("sessions"), list, "sessions", fmt.MANIFEST)
    fmt.require(manifest.get("members"), list, "members", fmt.MANIFEST)
    return manifest  # type: ignore[no-any-return]


def _entries(manifest: dict[str, Any], members: dict[str, tarfile.TarInfo]) -> dict[str, tuple[int, str]]:
    """name -> (size, digest) of every member besides the manifest and the seal, exactly as the tar has."""
    entries: dict[str, tuple[int, str]] = {}
    for entry in manifest["members"]:
        if not isinstance(entry, dict):
            raise fmt.invalid("a member entry is not an object", fmt.MANIFEST)
        name = fmt.require(entry.get("name"), str, "member name", fmt.MANIFEST)
        size = fmt.require(entry.get("size"), int, "member size", fmt.MANIFEST)
        digest = fmt.require(entry.get("blake3"), str, "member digest", fmt.MANIFEST)
        chunk = fmt.chunk_digest(name)
        if not (name.startswith(fmt.SESSION_DIR) or chunk is not None) or (chunk and chunk.hex() != digest):
            raise fmt.invalid("a member entry has an unknown name, or a chunk name that is not its digest", name)
        entries[name] = (size, digest)
    if set(entries) != set(members) - {fmt.MANIFEST, fmt.SEAL}:
        missing = sorted(set(entries) - set(members))[:3]
        raise fmt.invalid(f"members and manifest differ (missing: {missing}; truncated?)", fmt.MANIFEST)
    return entries


def _session(entry: Any, data: dict[str, tuple[bytes, str]], chunks: dict[bytes, int]) -> ArchivedSession:
    if not isinstance(entry, dict) or not isinstance(entry.get("session_id"), str):
        raise fmt.invalid("a session entry lacks its session_id", fmt.MANIFEST)
    sid = entry["session_id"]
    member = fmt.session_member(sid)
    if member not in data:
        raise fmt.invalid(f"session {sid} has no member", fmt.MANIFEST)
    raw, digest = data[member]
    try:
        lines = [orjson.loads(line) for line in raw.splitlines()]
    except orjson.JSONDecodeError:
        raise fmt.invalid("a line is not JSON", member) from None
    if not lines or not isinstance(lines[0], dict) or lines[0].get("kind") != "session":
        raise fmt.invalid("the first line is not the session record", member)
    session = fmt.session_from_json(fmt.require(lines[0].get("session"), dict, "session", member), member)
    try:
        validation.session_id(session.session_id)
    except InvalidArgument:
        raise fmt.invalid("not a session id", member) from None
    if session.session_id != sid:
        raise fmt.invalid("the record's session id is not the member's", member)
    archived = ArchivedSession(session, digest)
    for line in lines[1:]:
        _add_line(archived, fmt.require(line, dict, "line", member), member)
    return archived


def _add_line(s: ArchivedSession, line: dict[str, Any], member: str) -> None:
    kind, sid = line.get("kind"), s.session.session_id
    try:
        if kind == "state":
            s.state[validation.state_key(fmt.require(line.get("key"), str, "state key", member))] = line.get("value")
        elif kind == "event":
            s.events.append(fmt.event_from_json(sid, line, member))
        elif kind == "checkpoint":
            checkpoint, base, body = fmt.checkpoint_from_json(sid, line, member)
            validation.session_id(checkpoint.checkpoint_id, "checkpoint_id")
            s.checkpoints.append((checkpoint, _snapshot(body, base, member)))
        elif kind == "artifact":
            record = fmt.artifact_from_json(sid, line, member)
            validation.session_id(record.artifact.artifact_id, "artifact_id")
            validation.name(record.artifact.name, required=True)
            s.artifacts.append(record)
        else:
            raise fmt.invalid(f"unknown line kind {kind!r}", member)
    except InvalidArchive:
        raise
    except InvalidArgument as exc:
        raise fmt.invalid(exc.message, member) from None


def _snapshot(body: dict[str, Any], base: int, member: str) -> Snapshot:
    try:
        raw = body["session"]
        session = fmt.session_from_json(raw, member) if raw is not None else None
        artifacts = {str(a): int(n) for a, n in body["artifacts"]}
        snapshot = Snapshot(body["seq"], session, dict(body["state"]), artifacts)
    except (KeyError, TypeError, ValueError):
        raise fmt.invalid("a checkpoint's snapshot is malformed", member) from None
    if snapshot.seq != base:
        raise fmt.invalid("a checkpoint's snapshot is not at its base seq", member)
    return snapshot


def _check_contents(archive: Archive, s: ArchivedSession) -> None:
    """The member agrees with itself: gapless events, counters that match the artifacts, chunks present
    and each live artifact's content digest (quotas rely on the counters)."""
    record, member = s.session, fmt.session_member(s.session.session_id)
    if [e.seq for e in s.events] != list(range(1, record.last_event_seq + 1)):
        raise fmt.invalid("the events are not gapless from 1 to last_event_seq", member)
    if any(not 0 <= snap.seq <= c.seq <= record.last_event_seq for c, snap in s.checkpoints):
        raise fmt.invalid("a checkpoint lies outside the session's log", member)
    versions = {(r.artifact.name, r.artifact.version) for r in s.artifacts}
    if len(versions) != len(s.artifacts):
        raise fmt.invalid("two artifact records share a name and version", member)
    live = [r for r in s.artifacts if r.live]
    if record.artifact_count != len(live) or record.artifact_bytes != sum(r.artifact.size for r in live):
        raise fmt.invalid("artifact_count/artifact_bytes do not match the live artifacts", member)
    record.state_bytes = sum(entry_bytes(k, v) for k, v in s.state.items())
    for r in live:
        if any(d not in archive.chunk_sizes or archive.chunk_sizes[d] != n for d, n in r.chunks):
            raise fmt.invalid(f"artifact {r.artifact.artifact_id} needs a chunk the archive lacks", member)
        hasher = blake3()
        for digest, _ in r.chunks:
            hasher.update(archive.read_chunk(digest))
        if hasher.hexdigest() != r.artifact.content_digest or sum(n for _, n in r.chunks) != r.artifact.size:
            raise fmt.invalid(f"artifact {r.artifact.artifact_id}'s content fails its digest", member)
