"""A read-only consistency check of a store directory: ``llmspell-sessions check --path DIR``.

``check_store(path)`` opens the RocksDB store read-only (no lock taken, nothing written to the
database; rocksdict itself rewrites its ``rocksdict-config.json`` with the same content on every open)
and reads the chunk segment files with plain ``pread``. It returns a ``CheckReport``: every problem
found (what, where, detail) and counts of what was read. Checked, per tenant and across tenants:

- each session's event log is gapless 1..last_event_seq, and no events, state or checkpoints outlive
  their session;
- every session index entry (create/update/name/parent/expiry) matches an existing session's record and
  each session has its entries; per-state counters and the tenant bytes counter equal the records;
- artifact_count/artifact_bytes equal the session's live artifact records; artifact id entries and
  name/version entries point to records (name entries to live ones) and each record has its entries;
- every chunk referenced by a live artifact or an unfinished resumable upload has a chunk record, whose
  bytes (optionally) are readable and hash (BLAKE3, decompressed) to its digest;
- the global and per-tenant refcounts equal the references held; a digest queued for GC has none; a
  chunk nobody references is queued for GC (else it would never be collected);
- every checkpoint record has its snapshot body and every body its record.

Request-id entries (sessions and artifacts) are kept after their target is deleted, by design (the
engine treats a missing target as "no such request"): they are counted, not reported.
"""

from __future__ import annotations

import gc as _gc
import os
import struct
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

import orjson
from blake3 import blake3

# The on-disk layout. Every import of engine internals is in these lines, so a move of those modules
# touches only them; the key shapes parsed below are the byte layout of DESIGN.md ("Storage").
from .cas import ChunkRecord
from .cas.pipeline import decompress_chunk
from .engine.artifacts.records import decode_record
from .engine.codec import decode_checkpoint, decode_event, decode_session
from .engine.records import index_keys
from .engine.store_format import STORE_FORMAT
from .storage import keys

if TYPE_CHECKING:
    from .storage import BlobStore, Storage

SID = 36  # session, artifact and checkpoint ids are fixed-width UUID text
DIGEST = 32
_COUNT = struct.Struct("<q")  # refcounts and gc due times
_LOCATION = struct.Struct("<IQI")  # blob location: segment number, offset, length
_VERSION = 4  # artifact_names: session key + name NUL + version (4, BE) -> artifact id
_STAGED = b"\x01"  # uploads: tenant NUL 0x01 digest -> expiry (UploadChunks' staged markers)
_STAGED_VALUE = struct.Struct("<qq")  # staged: tenant NUL digest -> expiry (µs), logical size
_COUNTER_NAME = b"\x01"  # artifact_names: session key 0x01 name -> last version given


class StoreNotFound(Exception):
    """The directory holds no RocksDB store (no CURRENT file)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One inconsistency: a short stable kind, where it is (tenant and what), and what is wrong."""

    kind: str
    tenant: str
    where: str
    detail: str


@dataclass(slots=True)
class CheckReport:
    """What check_store found: problems (empty when the store is consistent) and counts of what it read."""

    path: str
    verified_bytes: bool
    problems: list[Problem] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    states: dict[str, Counter[str]] = field(default_factory=dict)  # tenant -> state name -> sessions

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, kind: str, tenant: str, where: str, detail: str) -> None:
        self.problems.append(Problem(kind, tenant, where, detail))

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "verified_bytes": self.verified_bytes,
            "counts": dict(sorted(self.counts.items())),
            "sessions_by_state": {t: dict(sorted(c.items())) for t, c in sorted(self.states.items())},
            "problems": [asdict(p) for p in self.problems],
        }


class _Session(NamedTuple):
    tenant: str
    session_id: str
    record: Any  # model.Session


def check_store(path: str | os.PathLike[str], *, verify_bytes: bool = True) -> CheckReport:
    """Checks the store at path without writing to it; raises StoreNotFound when there is none."""
    root = Path(path)
    if not (root / "CURRENT").is_file():
        raise StoreNotFound(f"no store at {root} (no RocksDB CURRENT file there)")
    report = CheckReport(str(root), verify_bytes)
    with _ReadOnlyStore(root) as store:
        _Checker(store, _Segments(root / "segments"), report, verify_bytes).run()
    return report


def check_storage(
    storage: Storage, blobs: str | os.PathLike[str] | BlobStore, *, verify_bytes: bool = True, name: str = ""
) -> CheckReport:
    """The same checks over a store opened through the Storage protocol (e.g. the postgres backend),
    with its chunk bytes in a directory of segment files or in a BlobStore (e.g. an object store).
    Reads only; name is what the report calls it.
    """
    report = CheckReport(name or type(storage).__name__, verify_bytes)
    reader = _Segments(Path(blobs)) if isinstance(blobs, (str, os.PathLike)) else _Blobs(blobs)
    _Checker(_ProtocolStore(storage), reader, report, verify_bytes).run()
    return report


class _Scannable(Protocol):
    def scan(self, cf: str) -> Iterator[tuple[bytes, bytes]]: ...


class _ProtocolStore:
    """Any Storage, scanned CF by CF (the whole family: the empty prefix)."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def scan(self, cf: str) -> Iterator[tuple[bytes, bytes]]:
        return self._storage.scan(cf, b"")


class _ReadOnlyStore:
    """The RocksDB store opened read-only (RocksDB takes no lock for that), scanned CF by CF."""

    def __init__(self, root: Path) -> None:
        import rocksdict  # late: clients of this package never need rocksdict

        self._rocksdict = rocksdict
        names = [n for n in rocksdict.Rdict.list_cf(str(root)) if n != "default"]
        options = {n: rocksdict.Options(raw_mode=True) for n in names}
        access = rocksdict.AccessType.read_only(False)  # False: replay the WAL (a killed server's last writes)
        self._db: Any = rocksdict.Rdict(
            str(root), options=rocksdict.Options(raw_mode=True), column_families=options, access_type=access
        )
        self._families = {n: self._db.get_column_family(n) for n in names}

    def scan(self, cf: str) -> Iterator[tuple[bytes, bytes]]:
        family = self._families.get(cf)
        if family is None:  # a family this store never had is empty
            return
        iterator = family.iter(self._rocksdict.ReadOptions())
        iterator.seek_to_first()
        while iterator.valid():
            yield iterator.key(), iterator.value()
            iterator.next()

    def __enter__(self) -> _ReadOnlyStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self._families = {}  # column-family handles keep the DB alive: drop them before closing
        db, self._db = self._db, None
        db.close()
        del db
        _gc.collect()


class _Segments:
    """Chunk bytes read straight from the segment files (seg-NNNNNNNN.dat), opened read-only."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fds: dict[int, int] = {}

    def read(self, digest: bytes, location: bytes) -> bytes:
        segment, offset, length = _LOCATION.unpack(location)
        fd = self._fds.get(segment)
        if fd is None:
            fd = self._fds[segment] = os.open(self.directory / f"seg-{segment:08d}.dat", os.O_RDONLY)
        data = os.pread(fd, length, offset)
        if len(data) != length:
            raise OSError(f"segment {segment} ends before offset {offset} + {length}")
        return data

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)


class _ChunkReader(Protocol):
    def read(self, digest: bytes, location: bytes) -> bytes: ...

    def close(self) -> None: ...


class _Blobs:
    """Chunk bytes read through a BlobStore the caller opened (and closes)."""

    def __init__(self, blobs: BlobStore) -> None:
        self._blobs = blobs

    def read(self, digest: bytes, location: bytes) -> bytes:
        return self._blobs.read(digest, location)

    def close(self) -> None:
        """The caller's store: left open."""


def _split(key: bytes) -> tuple[str, bytes]:
    """(tenant, rest) of a tenant-prefixed key."""
    tenant, _, rest = key.partition(b"\x00")
    return tenant.decode(errors="replace"), rest


def _skey(tenant: str, session_id: str) -> bytes:
    return keys.session_key(tenant, session_id)


class _Checker:
    """One pass over each column family, cross-checked at the end."""

    def __init__(self, store: _Scannable, segments: _ChunkReader, report: CheckReport, verify: bool) -> None:
        self.store, self.report, self.verify = store, report, verify
        self.segments = segments
        self.count = report.counts
        self.sessions: dict[bytes, _Session] = {}
        self.refs: Counter[bytes] = Counter()  # digest -> references held (all tenants)
        self.tenant_refs: Counter[tuple[str, bytes]] = Counter()
        self.chunk_sizes: dict[bytes, int] = {}  # digest -> logical size the chunk tables give
        self.records: dict[tuple[bytes, str], tuple[bool, str, int]] = {}  # (skey, aid) -> (live, name, version)
        self.global_counts: dict[bytes, int] = {}
        self.gc_queue: set[bytes] = set()
        self._staged: list[tuple[str, bytes, int]] | None = None

    def problem(self, kind: str, tenant: str, where: str, detail: str) -> None:
        self.report.add(kind, tenant, where, detail)

    def run(self) -> None:
        try:
            self.sessions_cf()
            self.events_cf()
            self.index_cf()
            self.state_cf()
            self.checkpoints_cf()
            self.artifacts_cf()
            self.names_cf()
            self.uploads_cf()
            self.refcounts_cf()
            self.gc_cf()
            self.chunks_cf()
        finally:
            self.segments.close()
        self.count["tenants"] = len({s.tenant for s in self.sessions.values()})

    def session_of(self, cf: str, key: bytes, tenant: str, rest: bytes, kind: str) -> _Session | None:
        """The session a key under it belongs to, or None after reporting the orphan."""
        found = self.sessions.get(_skey(tenant, rest[:SID].decode(errors="replace")))
        if found is None:
            self.problem(kind, tenant, f"{cf} key {key.hex()}", f"{cf} entry of session {rest[:SID]!r}, which is gone")
        return found

    # -- sessions and their logs -------------------------------------------------------------------

    def sessions_cf(self) -> None:
        for key, raw in self.store.scan("sessions"):
            tenant, rest = _split(key)
            try:
                session = decode_session(raw)
            except Exception as exc:  # noqa: BLE001 - any decoding failure is a finding, not a crash
                self.problem("bad_record", tenant, f"sessions key {key.hex()}", f"undecodable session: {exc}")
                continue
            if rest.decode(errors="replace") != session.session_id:
                self.problem("bad_record", tenant, f"session {session.session_id}", f"stored under {rest!r}")
            self.sessions[key] = _Session(tenant, session.session_id, session)
            self.report.states.setdefault(tenant, Counter())[session.state.name] += 1
        self.count["sessions"] = len(self.sessions)

    def events_cf(self) -> None:
        seen: dict[bytes, int] = {}  # skey -> last seq seen, in key order
        for key, raw in self.store.scan("events"):
            skey, seq = key[: -keys.SEQ_BYTES], keys.seq_of_event_key(key)
            session = self.sessions.get(skey)
            self.count["events"] += 1
            if session is None:
                if skey not in seen:
                    tenant, rest = _split(skey)
                    self.problem("orphan_events", tenant, f"session {rest!r}", "events of a session that is gone")
                seen[skey] = seq
                continue
            expected = seen.get(skey, 0) + 1
            if seq != expected:
                self.problem(
                    "event_gap", session.tenant, f"session {session.session_id}", f"seq {seq} follows {expected - 1}"
                )
            seen[skey] = seq
            try:
                stored = decode_event(session.session_id, raw).seq
            except Exception as exc:  # noqa: BLE001
                self.problem("bad_record", session.tenant, f"event {session.session_id}/{seq}", f"undecodable: {exc}")
                continue
            if stored != seq:
                self.problem("bad_record", session.tenant, f"event {session.session_id}/{seq}", f"says seq {stored}")
        for skey, s in self.sessions.items():
            last = s.record.last_event_seq
            if seen.get(skey, 0) != last:
                detail = f"log ends at {seen.get(skey, 0)}, last_event_seq is {last}"
                self.problem("event_gap", s.tenant, f"session {s.session_id}", detail)

    def store_format(self, raw: bytes) -> None:
        found = _format_of(raw)
        if found != STORE_FORMAT:
            self.problem(
                "store_format", "", "the store", f"format record {raw[:64]!r}, this checker reads {STORE_FORMAT}"
            )

    def index_cf(self) -> None:
        expected: dict[bytes, bytes] = {}  # index key -> session key it belongs to
        for skey, s in self.sessions.items():
            for entry in _index_entries(s):
                expected[entry] = skey
        counters: dict[tuple[str, str], int] = {}
        for key, raw in self.store.scan("session_index"):
            if key == keys.FORMAT_KEY:
                self.store_format(raw)
                continue
            self.count["index_entries"] += 1
            tenant, rest = ("", b"x") if key.startswith(keys.EXPIRY_PREFIX) else _split(key)
            if rest[:1] == keys.INDEX_COUNTER:
                try:
                    counters[(tenant, rest[1:].decode())] = int(raw)
                except ValueError:
                    self.problem("bad_record", tenant, f"counter {rest[1:]!r}", f"value {raw!r} is not an integer")
            elif rest[:1] == keys.INDEX_REQUEST:
                self.request_entry(tenant, key, raw)
            elif expected.pop(key, None) is None:
                self.problem("dangling_index", *_index_where(key), "matches no session record")
        for key, skey in expected.items():
            s = self.sessions[skey]
            self.problem("missing_index", s.tenant, f"session {s.session_id}", f"no index entry {key.hex()}")
        self.check_counters(counters)

    def request_entry(self, tenant: str, key: bytes, raw: bytes) -> None:
        if len(raw) not in (8 + SID, 8 + SID + 16):  # ApplyChanges entries add first and last seq
            self.problem("bad_record", tenant, f"request entry {key.hex()}", f"value {raw!r} is not stamp + session id")
        elif _skey(tenant, raw[8:].decode(errors="replace")) not in self.sessions:
            self.count["stale_request_entries"] += 1

    def check_counters(self, stored: dict[tuple[str, str], int]) -> None:
        actual: Counter[tuple[str, str]] = Counter()
        for s in self.sessions.values():
            actual[(s.tenant, f"state.{int(s.record.state)}")] += 1
            actual[(s.tenant, "bytes")] += s.record.artifact_bytes
        for tenant, _, size in self.staged():
            actual[(tenant, "staged")] += size
        for tenant, name in sorted(set(stored) | set(actual)):
            have, want = stored.get((tenant, name), 0), actual[(tenant, name)]
            if have != want:
                self.problem("counter_mismatch", tenant, f"counter {name}", f"stored {have}, the records say {want}")

    def state_cf(self) -> None:
        reported: set[bytes] = set()
        sizes: Counter[bytes] = Counter()
        for key, value in self.store.scan("state"):
            tenant, rest = _split(key)
            self.count["state_entries"] += 1
            skey = _skey(tenant, rest[:SID].decode(errors="replace"))
            sizes[skey] += len(rest) - SID - 1 + len(value)  # key name (after the NUL) + encoded value
            if skey not in self.sessions and skey not in reported:
                reported.add(skey)
                self.session_of("state", key, tenant, rest, "orphan_state")
        for skey, s in self.sessions.items():
            kept = s.record.state_bytes
            if kept >= 0 and kept != sizes[skey]:  # -1: written before sizes were kept
                self.problem(
                    "state_bytes", s.tenant, f"session {s.record.session_id}", f"{kept} kept, {sizes[skey]} held"
                )

    def checkpoints_cf(self) -> None:
        records: dict[tuple[bytes, int, str], _Session] = {}
        bodies: set[tuple[bytes, int, str]] = set()
        for key, raw in self.store.scan("checkpoints"):
            tenant, rest = _split(key)
            session = self.session_of("checkpoints", key, tenant, rest, "orphan_checkpoint")
            if session is None:
                continue
            skey, tail = key[: len(key) - len(rest) + SID], rest[SID:]
            if len(tail) == 1 + keys.SEQ_BYTES + SID and tail[:1] == b"\x00":
                bodies.add((skey, int.from_bytes(tail[1 : 1 + keys.SEQ_BYTES], "big"), tail[-SID:].decode()))
                continue
            try:
                checkpoint, extra = decode_checkpoint(session.session_id, raw)
                base = int(extra["base"])
            except Exception as exc:  # noqa: BLE001
                self.problem("bad_record", tenant, f"checkpoint key {key.hex()}", f"undecodable: {exc}")
                continue
            self.count["checkpoints"] += 1
            records[(skey, base, tail.decode(errors="replace"))] = session
            if checkpoint.seq > session.record.last_event_seq:
                detail = f"at seq {checkpoint.seq}, past the log's end {session.record.last_event_seq}"
                self.problem("bad_checkpoint", tenant, f"checkpoint {checkpoint.checkpoint_id}", detail)
        for point, session in records.items():
            if point not in bodies:
                self.problem("checkpoint_body_missing", session.tenant, f"checkpoint {point[2]}", "no snapshot body")
        for point in bodies - set(records):
            tenant, _ = _split(point[0])
            self.problem("orphan_checkpoint_body", tenant, f"checkpoint {point[2]}", "snapshot body without record")

    # -- artifacts -------------------------------------------------------------------------------------

    def artifacts_cf(self) -> None:
        id_entries: dict[tuple[str, str], str] = {}  # (tenant, aid) -> session id
        live: Counter[bytes] = Counter()
        live_bytes: Counter[bytes] = Counter()
        for key, raw in self.store.scan("artifacts"):
            tenant, rest = _split(key)
            if rest[:1] == b"#":
                id_entries[(tenant, rest[1:].decode(errors="replace"))] = raw.decode(errors="replace")
            elif rest[:1] == b"!":
                self.count["artifact_request_entries"] += 1
            elif len(rest) == 2 * SID:
                self.artifact_record(key, tenant, rest, raw, live, live_bytes)
            else:
                self.problem("bad_key", tenant, f"artifacts key {key.hex()}", "not a record, id or request entry")
        for (skey, aid), _ in self.records.items():
            tenant, rest = _split(skey)
            if id_entries.pop((tenant, aid), None) != rest.decode():
                self.problem("missing_artifact_id", tenant, f"artifact {aid}", "no id entry pointing to its session")
        for (tenant, aid), sid in id_entries.items():
            self.problem("dangling_artifact_id", tenant, f"artifact {aid}", f"id entry names session {sid}: no record")
        for skey, s in self.sessions.items():
            have = (s.record.artifact_count, s.record.artifact_bytes)
            want = (live[skey], live_bytes[skey])
            if have != want:
                detail = f"artifact_count/bytes {have[0]}/{have[1]}, live records hold {want[0]}/{want[1]}"
                self.problem("artifact_counter_mismatch", s.tenant, f"session {s.session_id}", detail)

    def artifact_record(
        self, key: bytes, tenant: str, rest: bytes, raw: bytes, live: Counter[bytes], live_bytes: Counter[bytes]
    ) -> None:
        session = self.session_of("artifacts", key, tenant, rest, "orphan_artifact")
        aid = rest[SID:].decode(errors="replace")
        try:
            record = decode_record(raw)
        except Exception as exc:  # noqa: BLE001
            self.problem("bad_record", tenant, f"artifact {aid}", f"undecodable: {exc}")
            return
        a = record.artifact
        if a.artifact_id != aid or (session is not None and a.session_id != session.session_id):
            self.problem("bad_record", tenant, f"artifact {aid}", f"record says {a.session_id}/{a.artifact_id}")
        if a.size != sum(n for _, n in record.chunks) or a.chunk_count != len(record.chunks):
            detail = f"size {a.size} in {a.chunk_count} chunks; the chunk table holds {len(record.chunks)} chunks"
            self.problem("bad_record", tenant, f"artifact {aid}", detail)
        skey = key[:-SID]
        self.records[(skey, aid)] = (record.live, a.name, a.version)
        self.count["artifacts_live" if record.live else "artifacts_deleted"] += 1
        if not record.live or session is None:
            return
        live[skey] += 1
        live_bytes[skey] += a.size
        for digest, size in record.chunks:
            self.hold(tenant, digest, size, f"artifact {aid}")

    def hold(self, tenant: str, digest: bytes, size: int, holder: str) -> None:
        """One reference to digest, held by an artifact or an unfinished upload of tenant."""
        self.refs[digest] += 1
        self.tenant_refs[(tenant, digest)] += 1
        known = self.chunk_sizes.setdefault(digest, size)
        if known != size:
            self.problem(
                "chunk_size_mismatch", tenant, holder, f"chunk {digest.hex()} is {size} bytes, elsewhere {known}"
            )

    def names_cf(self) -> None:
        named: set[tuple[bytes, str]] = set()
        last_version: dict[tuple[bytes, str], int] = {}
        for key, raw in self.store.scan("artifact_names"):
            tenant, rest = _split(key)
            skey, tail = key[: len(key) - len(rest) + SID], rest[SID:]
            if tail[:1] == _COUNTER_NAME:
                last_version[(skey, tail[1:].decode(errors="replace"))] = int(raw) if raw.isdigit() else -1
                continue
            if tail[:1] < b" ":  # other auxiliary entries (control bytes never start a name)
                continue
            if len(tail) <= _VERSION + 1 or tail[-_VERSION - 1] != 0:
                self.problem("bad_key", tenant, f"artifact_names key {key.hex()}", "not name NUL version")
                continue
            name, version = tail[: -_VERSION - 1].decode(errors="replace"), int.from_bytes(tail[-_VERSION:], "big")
            aid = raw.decode(errors="replace")
            found = self.records.get((skey, aid))
            if found is None or not found[0] or found[1:] != (name, version):
                what = "no record" if found is None else "a deleted record" if not found[0] else f"record {found[1:]}"
                self.problem("dangling_name", tenant, f"artifact {aid}", f"{name!r} v{version} points to {what}")
            named.add((skey, aid))
        for (skey, aid), (is_live, name, version) in self.records.items():
            tenant, _ = _split(skey)
            if is_live and (skey, aid) not in named:
                self.problem("missing_name", tenant, f"artifact {aid}", f"no name entry for {name!r} v{version}")
            if version > last_version.get((skey, name), 0):
                self.problem("version_counter", tenant, f"artifact {aid}", f"v{version} is past the name's counter")

    # -- content ---------------------------------------------------------------------------------------

    def uploads_cf(self) -> None:
        for key, raw in self.store.scan("uploads"):
            tenant, rest = _split(key)
            if rest[:1] == _STAGED and len(rest) == 1 + DIGEST:
                self.count["legacy_staged_markers"] += 1  # older releases' staging: no reference, expired away
                continue
            try:
                progress = orjson.loads(raw)
                chunks = [] if progress.get("artifact_id") else progress["chunks"]
            except Exception as exc:  # noqa: BLE001
                self.problem("bad_record", tenant, f"upload {rest!r}", f"undecodable progress: {exc}")
                continue
            self.count["uploads_finished" if progress.get("artifact_id") else "uploads_in_progress"] += 1
            for digest, size in chunks:
                self.hold(tenant, bytes.fromhex(digest), size, f"upload {rest.decode(errors='replace')}")
        for tenant, digest, size in self.staged():  # each staged chunk holds one reference of its tenant
            self.count["staged_chunks"] += 1
            self.hold(tenant, digest, size, "a staged chunk")

    def staged(self) -> list[tuple[str, bytes, int]]:
        """(tenant, digest, logical size) of every chunk staged by UploadChunks (read once)."""
        if self._staged is None:
            self._staged = []
            for key, raw in self.store.scan("staged"):
                tenant, digest = _split(key)
                self._staged.append((tenant, digest, _STAGED_VALUE.unpack(raw)[1]))
        return self._staged

    def refcounts_cf(self) -> None:
        tenant_counts: dict[tuple[str, bytes], int] = {}
        for key, raw in self.store.scan("refcounts"):
            value = _COUNT.unpack(raw)[0] if len(raw) == _COUNT.size else None
            tenant, digest = ("", key) if len(key) == DIGEST else _split(key)
            if value is None or len(digest) != DIGEST:
                self.problem("bad_record", tenant, f"refcount key {key.hex()}", f"value {raw!r}")
            elif tenant:
                tenant_counts[(tenant, digest)] = value
            else:
                self.global_counts[digest] = value
        for digest in sorted(set(self.global_counts) | set(self.refs)):
            have, want = self.global_counts.get(digest, 0), self.refs[digest]
            if have != want:
                self.problem(
                    "refcount_mismatch", "", f"digest {digest.hex()}", f"refcount {have}, references held {want}"
                )
        for tenant, digest in sorted(set(tenant_counts) | set(self.tenant_refs)):
            have, want = tenant_counts.get((tenant, digest), 0), self.tenant_refs[(tenant, digest)]
            if have != want:
                detail = f"tenant refcount {have}, references held {want}"
                self.problem("tenant_refcount_mismatch", tenant, f"digest {digest.hex()}", detail)
        self.count["referenced_digests"] = len(self.refs)

    def gc_cf(self) -> None:
        for digest, _ in self.store.scan("gc"):
            self.gc_queue.add(digest)
            if self.global_counts.get(digest, 0) or self.refs[digest]:
                detail = f"queued for GC with refcount {self.global_counts.get(digest, 0)}, {self.refs[digest]} held"
                self.problem("gc_queued_referenced", "", f"digest {digest.hex()}", detail)
        self.count["gc_queued"] = len(self.gc_queue)

    def chunks_cf(self) -> None:
        stored: set[bytes] = set()
        for digest, raw in self.store.scan("chunks"):
            stored.add(digest)
            self.count["chunks"] += 1
            try:
                record = ChunkRecord.decode(raw)
            except Exception as exc:  # noqa: BLE001
                self.problem("bad_record", "", f"chunk {digest.hex()}", f"undecodable chunk record: {exc}")
                continue
            size = self.chunk_sizes.get(digest, record.size)
            if size != record.size:
                self.problem("chunk_size_mismatch", "", f"chunk {digest.hex()}", f"record {record.size}, tables {size}")
            if not self.refs[digest] and digest not in self.gc_queue:
                self.problem("chunk_leak", "", f"chunk {digest.hex()}", "referenced by nothing and not queued for GC")
            if self.verify:
                self.verify_chunk(digest, record)
        for digest in sorted(set(self.refs) - stored):
            self.problem("chunk_missing", "", f"chunk {digest.hex()}", f"{self.refs[digest]} references, no record")

    def verify_chunk(self, digest: bytes, record: ChunkRecord) -> None:
        where = f"chunk {digest.hex()}"
        try:
            body = self.segments.read(digest, record.location)
            data = decompress_chunk(body, record.size) if record.compressed else body
        except Exception as exc:  # noqa: BLE001 - a missing segment, a short read, corrupt LZ4
            self.problem("chunk_unreadable", "", where, str(exc))
            return
        if len(body) != record.stored_size or len(data) != record.size or blake3(data).digest() != digest:
            self.problem("chunk_corrupt", "", where, "stored bytes do not hash to the digest")
            return
        self.count["chunks_verified"] += 1
        self.count["bytes_verified"] += record.size


def _format_of(raw: bytes) -> int | None:
    try:
        found = orjson.loads(raw)["format"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None
    return found if isinstance(found, int) else None


def _index_entries(s: _Session) -> Iterator[bytes]:
    """The session_index keys a session record implies (the engine's own rule)."""
    yield from index_keys(s.tenant, keys.session_key(s.tenant, s.session_id), s.record)


def _index_where(key: bytes) -> tuple[str, str]:
    """(tenant, where) of an index key, for a problem report."""
    if key.startswith(keys.EXPIRY_PREFIX):
        tenant, rest = _split(key[len(keys.EXPIRY_PREFIX) + keys.TIME_BYTES :])
        return tenant, f"expiry entry of session {rest.decode(errors='replace')}"
    tenant, rest = _split(key)
    kind = {b"c": "create", b"u": "update", b"n": "name", b"p": "parent"}.get(rest[:1], repr(rest[:1]))
    return tenant, f"{kind} entry of session {key[-SID:].decode(errors='replace')}"


def format_report(report: CheckReport) -> str:
    """The human summary: counts, then each problem on its own line."""
    c = report.counts
    lines = [
        f"store {report.path}: {c['sessions']} sessions in {c['tenants']} tenants, {c['events']} events, "
        f"{c['artifacts_live']} live artifacts ({c['artifacts_deleted']} deleted kept as history), "
        f"{c['chunks']} chunks, {c['uploads_in_progress']} unfinished uploads",
        f"chunk bytes: {c['chunks_verified']} chunks ({c['bytes_verified']} bytes) verified"
        if report.verified_bytes
        else "chunk bytes: not verified (--no-verify-bytes)",
    ]
    if report.ok:
        lines.append("OK: no problems found")
        return "\n".join(lines)
    kinds = Counter(p.kind for p in report.problems)
    lines.append(f"PROBLEMS: {len(report.problems)} ({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))})")
    by_kind: defaultdict[str, list[Problem]] = defaultdict(list)
    for p in report.problems:
        by_kind[p.kind].append(p)
    for kind, problems in sorted(by_kind.items()):
        for p in problems:
            tenant = f"tenant {p.tenant}: " if p.tenant else ""
            lines.append(f"  {kind}: {tenant}{p.where}: {p.detail}")
    return "\n".join(lines)
