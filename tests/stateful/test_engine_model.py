"""The embedded engine against a plain Python model, driven by hypothesis' RuleBasedStateMachine.

Real RocksDB in a temporary directory; two tenants with writers, a reader and an admin each; every call
names its caller. Rules create, update, transition and delete sessions, set and delete state, grant and
revoke access, store artifacts (small and > 10 KiB, content shared across sessions and tenants), upload
chunks client-side and commit them, delete artifacts, fork and rewind at random seqs, append events and
run the maintenance passes. After each step what every caller can see must agree with the model; at the
end the store checker (``llmspell-sessions check``) must find nothing wrong.

Bounded for ``make test`` (20 examples of up to 30 steps); ``LLMSPELL_STATEFUL_EXAMPLES=500`` and
``LLMSPELL_STATEFUL_STEPS=80`` run longer.
Known defects are stepped around behind named switches (below) so the rest stays checked.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest
from blake3 import blake3
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from llmspell_sessions import SessionManager, SessionState, hotpath
from llmspell_sessions.check import check_store, format_report
from llmspell_sessions.errors import (
    AccessDenied,
    ArtifactNotFound,
    InvalidStateTransition,
    LlmspellError,
    MissingChunks,
    SessionNotActive,
    SessionNotFound,
)
from llmspell_sessions.model import Caller, Role, UploadHeader

EXAMPLES = int(os.environ.get("LLMSPELL_STATEFUL_EXAMPLES", "20"))
STEPS = int(os.environ.get("LLMSPELL_STATEFUL_STEPS", "30"))
T1, T2 = "t1", "t2"
ALICE, BOB = Caller(T1, "alice", Role.WRITER), Caller(T1, "bob", Role.WRITER)
RITA, ADAM = Caller(T1, "rita", Role.READER), Caller(T1, "adam", Role.ADMIN)
CAROL, ZOE = Caller(T2, "carol", Role.WRITER), Caller(T2, "zoe", Role.ADMIN)
CALLERS = [ALICE, BOB, RITA, ADAM, CAROL, ZOE]
ADMIN = {T1: ADAM, T2: ZOE}
ALL_STATES = [s for s in SessionState if s != SessionState.UNSPECIFIED]
TRANSITIONS = {  # name -> (from states, to state)
    "suspend": ({SessionState.ACTIVE}, SessionState.SUSPENDED),
    "resume": ({SessionState.SUSPENDED}, SessionState.ACTIVE),
    "complete": ({SessionState.ACTIVE, SessionState.SUSPENDED}, SessionState.COMPLETED),
    "fail": ({SessionState.ACTIVE, SessionState.SUSPENDED}, SessionState.FAILED),
    "archive": ({SessionState.COMPLETED, SessionState.FAILED}, SessionState.ARCHIVED),
}


def _contents() -> list[bytes]:
    rng = random.Random(7)
    big = rng.randbytes(300_000)
    return [
        b"tiny",
        b"hello world " * 20,
        rng.randbytes(900),
        rng.randbytes(12_000),  # > 10 KiB, incompressible: one raw chunk
        b"compressible line\n" * 1500,  # 27 KB: one LZ4 chunk
        big,  # several chunks
        big[:200_000] + rng.randbytes(100_000),  # shares its first chunks with big
    ]


CONTENTS = _contents()
# Mostly two contents (one small, one compressed): repeats across artifacts, sessions and tenants are
# what dedup, refcounts and GC get wrong; the others still come up.
CONTENT_INDEX = st.one_of(st.sampled_from([0, 4]), st.sampled_from(range(len(CONTENTS))))


def chunks_of(content: bytes) -> list[tuple[bytes, bytes]]:
    """(digest, bytes) of each chunk the server cuts content into (the same FastCDC the clients use)."""
    cuts, start, out = hotpath.chunk_cuts(content, final=True), 0, []
    for end in cuts:
        out.append((blake3(content[start:end]).digest(), content[start:end]))
        start = end
    return out


CHUNKS = {c: chunks_of(c) for c in CONTENTS}


@dataclass
class MArtifact:
    """An artifact as the model knows it."""

    name: str
    version: int
    content: bytes


@dataclass
class Point:
    """A session as it was after some seq: its state and live artifacts."""

    seq: int
    kv: dict[str, Any]
    artifacts: dict[str, MArtifact]


@dataclass
class MSession:
    """A session as the model knows it."""

    tenant: str
    owner: str
    name: str
    state: SessionState = SessionState.ACTIVE
    grants: dict[str, str] = field(default_factory=dict)
    kv: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, MArtifact] = field(default_factory=dict)
    versions: Counter[str] = field(default_factory=Counter)  # last version given per name
    history: list[Point] = field(default_factory=list)

    def at(self, seq: int) -> Point:
        return [p for p in self.history if p.seq <= seq][-1]

    def may(self, caller: Caller, access: str) -> bool:
        if caller.role == Role.ADMIN or caller.subject == self.owner:
            return True
        granted = self.grants.get(caller.subject)
        return granted == "write" or (granted == "read" and access == "read")


FAILED = object()


class EngineModel(RuleBasedStateMachine):
    """SessionManager vs. the model above."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="stateful-")
        self.path = os.path.join(self.dir, "store")
        self.m = SessionManager(
            storage_path=self.path,
            start_sweeper=False,
            chunk_gc_grace=0,
            rate_limit_global=0,
            rate_limit_per_session=0,
            max_sessions=100_000,
            session_timeout=0,
            idle_timeout=0,
            segment_bytes=64 * 1024,  # small segments, so compaction has closed ones to work on
            auto_checkpoint_every=5,
        )
        self.sessions: dict[str, MSession] = {}
        self.gone: list[str] = []  # deleted session ids
        self.present: set[bytes] = set()  # chunk digests the store still holds
        self.reserved: set[tuple[str, bytes]] = set()  # (tenant, digest) staged by UploadChunks, not yet committed
        self.verified: set[str] = set()  # artifact ids whose bytes were downloaded and compared
        self.last = ""

    # -- the model's helpers ----------------------------------------------------------------------

    def expect(self, c: Caller, sid: str, role: Role, access: str | None, state_ok: bool, state_error: type) -> Any:
        """The error the engine must raise (None: success), in the engine's order of checks."""
        s = self.sessions.get(sid)
        if c.role < role:
            return AccessDenied
        if s is None or s.tenant != c.tenant:
            return SessionNotFound
        if access and not s.may(c, "read"):
            return AccessDenied
        if not state_ok:
            return state_error
        if access == "write" and not s.may(c, "write"):
            return AccessDenied
        return None

    def run(self, expected: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            result = fn(*args, **kwargs)
        except LlmspellError as error:
            assert expected is not None, f"{fn.__name__} failed, the model expected success: {error!r}"
            assert isinstance(error, expected), f"{fn.__name__}: expected {expected.__name__}, got {error!r}"
            return FAILED
        assert expected is None, f"{fn.__name__} succeeded; the model expected {expected.__name__}"
        return result

    def record(self, sid: str) -> None:
        """Notes the model's view at the session's current seq (denials append audit events too)."""
        s = self.sessions.get(sid)
        if s is None:
            return
        seq = self.m.get_session(sid, caller=ADMIN[s.tenant]).last_event_seq
        if not s.history or s.history[-1].seq < seq:
            s.history.append(Point(seq, dict(s.kv), dict(s.artifacts)))

    def refs(self) -> Counter[bytes]:
        held: Counter[bytes] = Counter()
        for s in self.sessions.values():
            for a in s.artifacts.values():
                held.update(d for d, _ in CHUNKS[a.content])
        return held

    def referenced(self, content: bytes) -> None:
        digests = {d for d, _ in CHUNKS[content]}
        self.present |= digests

    def pick(self, data: st.DataObject) -> str:
        """Mostly the session touched last (so histories grow long enough to fork and rewind), else any."""
        if self.last in self.sessions and data.draw(st.booleans()):
            return self.last
        self.last = data.draw(st.sampled_from(sorted(self.sessions) + self.gone[-2:]))
        return self.last

    # -- sessions ------------------------------------------------------------------------------------

    @initialize()
    def first_sessions(self) -> None:
        for c in (ALICE, CAROL):
            sid = self.m.create_session(name="first", caller=c)
            self.sessions[sid] = MSession(c.tenant, c.subject, "first")
            self.record(sid)

    @rule(c=st.sampled_from(CALLERS), name=st.sampled_from(["alpha", "beta"]))
    def create(self, c: Caller, name: str) -> None:
        sid = self.run(AccessDenied if c.role < Role.WRITER else None, self.m.create_session, name=name, caller=c)
        if sid is not FAILED:
            self.sessions[sid] = MSession(c.tenant, c.subject, name)
            self.record(sid)

    @rule(data=st.data(), c=st.sampled_from(CALLERS), name=st.sampled_from(["alpha", "beta", "gamma"]))
    def update(self, data: st.DataObject, c: Caller, name: str) -> None:
        sid = self.pick(data)
        s = self.sessions.get(sid)
        ok = s is not None and s.state != SessionState.ARCHIVED
        expected = self.expect(c, sid, Role.WRITER, "write", ok, SessionNotActive)
        if self.run(expected, self.m.update_session, sid, name=name, caller=c) is not FAILED:
            self.sessions[sid].name = name
        self.record(sid)

    @rule(data=st.data(), c=st.sampled_from(CALLERS), how=st.sampled_from(sorted(TRANSITIONS)))
    def transition(self, data: st.DataObject, c: Caller, how: str) -> None:
        sid = self.pick(data)
        sources, target = TRANSITIONS[how]
        s = self.sessions.get(sid)
        ok = s is not None and s.state in sources
        expected = self.expect(c, sid, Role.WRITER, "write", ok, InvalidStateTransition)
        fn = getattr(self.m, f"{how}_session")
        args = (sid, "stopped") if how == "fail" else (sid,)
        if self.run(expected, fn, *args, caller=c) is not FAILED:
            self.sessions[sid].state = target
        self.record(sid)

    @rule(data=st.data(), c=st.sampled_from(CALLERS))
    def delete_session(self, data: st.DataObject, c: Caller) -> None:
        sid = self.pick(data)
        expected = self.expect(c, sid, Role.WRITER, "write", True, SessionNotActive)
        if self.run(expected, self.m.delete_session, sid, caller=c) is not FAILED:
            del self.sessions[sid]
            self.gone.append(sid)
        self.record(sid)

    @rule(data=st.data(), c=st.sampled_from(CALLERS), key=st.sampled_from(["k1", "k2", "k3"]), value=st.integers(0, 9))
    def set_state(self, data: st.DataObject, c: Caller, key: str, value: int) -> None:
        sid = self.pick(data)
        s = self.sessions.get(sid)
        delete = value == 0 and s is not None and key in s.kv
        ok = s is not None and s.state == SessionState.ACTIVE
        expected = self.expect(c, sid, Role.WRITER, "write", ok, SessionNotActive)
        entries, deleted = ({}, [key]) if delete else ({key: value}, [])
        if self.run(expected, self.m.set_session_state, sid, entries, deleted, caller=c) is not FAILED:
            if delete:
                del self.sessions[sid].kv[key]
            else:
                self.sessions[sid].kv[key] = value
        self.record(sid)

    @rule(data=st.data(), c=st.sampled_from(CALLERS), who=st.sampled_from(["alice", "bob", "rita", "carol"]))
    def grant_or_revoke(self, data: st.DataObject, c: Caller, who: str) -> None:
        sid = self.pick(data)
        access = data.draw(st.sampled_from(["read", "write", ""]))
        expected = self.expect(c, sid, Role.ADMIN, "write", True, SessionNotActive)
        if access:
            done = self.run(expected, self.m.grant_session_access, sid, who, access, caller=c)
        else:
            done = self.run(expected, self.m.revoke_session_access, sid, who, caller=c)
        if done is not FAILED:
            if access:
                self.sessions[sid].grants[who] = access
            else:
                self.sessions[sid].grants.pop(who, None)
        self.record(sid)

    @rule(data=st.data(), c=st.sampled_from(CALLERS))
    def read_session(self, data: st.DataObject, c: Caller) -> None:
        """A read by anyone: denials are audited in the session's log."""
        sid = self.pick(data)
        s = self.sessions.get(sid)
        etag = self.m.get_session(sid, caller=ADMIN[s.tenant]).etag if s else ""
        expected = self.expect(c, sid, Role.READER, "read", True, SessionNotActive)
        got = self.run(expected, self.m.get_session, sid, caller=c)
        if got is not FAILED:
            assert got.state == self.sessions[sid].state and got.etag == etag
        elif s is not None:
            assert self.m.get_session(sid, caller=ADMIN[s.tenant]).etag == etag, "a denied read changed the etag"
        self.record(sid)

    @rule(data=st.data(), c=st.sampled_from(CALLERS), n=st.integers(1, 3))
    def append_events(self, data: st.DataObject, c: Caller, n: int) -> None:
        sid = self.pick(data)
        expected = self._artifact_expected(c, sid)  # the same rule: WRITER, write access, ACTIVE
        events = [{"type": "agent.step", "payload": {"i": i}} for i in range(n)]
        self.run(expected, self.m.append_events, sid, events, caller=c)
        self.record(sid)

    # -- artifacts ---------------------------------------------------------------------------------

    def _artifact_expected(self, c: Caller, sid: str) -> Any:
        s = self.sessions.get(sid)
        active = s is not None and s.state == SessionState.ACTIVE
        return self.expect(c, sid, Role.WRITER, "write", active, SessionNotActive)

    def _stored(self, sid: str, name: str, content: bytes, artifact: Any) -> None:
        s = self.sessions[sid]
        s.versions[name] += 1
        assert artifact.version == s.versions[name], (artifact.version, s.versions[name])
        assert artifact.size == len(content) and artifact.content_digest == blake3(content).hexdigest()
        s.artifacts[artifact.artifact_id] = MArtifact(name, artifact.version, content)
        self.referenced(content)

    @rule(
        data=st.data(),
        c=st.sampled_from(CALLERS),
        name=st.sampled_from(["a", "b"]),
        content=CONTENT_INDEX,
        resumable=st.booleans(),
    )
    def store_artifact(self, data: st.DataObject, c: Caller, name: str, content: int, resumable: bool) -> None:
        sid, blob = self.pick(data), CONTENTS[content]
        header = UploadHeader(sid, name, upload_id=f"up-{os.urandom(6).hex()}" if resumable else "")
        artifact = self.run(self._artifact_expected(c, sid), self.m.put_artifact, header, blob, caller=c)
        if artifact is not FAILED:
            self._stored(sid, name, blob, artifact)
        self.record(sid)

    @rule(
        data=st.data(),
        c=st.sampled_from(CALLERS),
        name=st.sampled_from(["a", "c"]),
        index=CONTENT_INDEX,
    )
    def client_upload(self, data: st.DataObject, c: Caller, name: str, index: int) -> None:
        """FindMissingChunks, UploadChunks of what is missing, CommitArtifact."""
        sid, content = self.pick(data), CONTENTS[index]
        chunks = CHUNKS[content]

        def upload() -> Any:
            missing = set(self.m.find_missing_chunks([d.hex() for d, _ in chunks], caller=c))
            sent = [(d.hex(), b) for d, b in chunks if d.hex() in missing]
            self.m.upload_chunks(sent, caller=c)
            for d, _ in sent:  # each staged chunk is held for the tenant until a commit uses it
                self.present.add(bytes.fromhex(d))
                self.reserved.add((c.tenant, bytes.fromhex(d)))
            listed = [(d.hex(), len(b)) for d, b in chunks]
            committed = self.m.commit_artifact(UploadHeader(sid, name), listed, blake3(content).hexdigest(), caller=c)
            self.reserved -= {(c.tenant, d) for d, _ in chunks}  # the artifact's references replace them
            return committed

        expected = AccessDenied if c.role < Role.WRITER else self._artifact_expected(c, sid)
        artifact = self.run(expected, upload)
        if artifact is not FAILED:
            self._stored(sid, name, content, artifact)
        self.record(sid)

    @rule(data=st.data(), c=st.sampled_from(CALLERS))
    def delete_artifact(self, data: st.DataObject, c: Caller) -> None:
        owned = [(sid, aid) for sid, s in sorted(self.sessions.items()) for aid in sorted(s.artifacts)]
        if not owned:
            return
        mine = [o for o in owned if o[0] == self.last]  # mostly in the session touched last
        sid, aid = data.draw(st.sampled_from(mine if mine and data.draw(st.booleans()) else owned))
        s = self.sessions[sid]
        if c.role < Role.WRITER:
            expected: Any = AccessDenied
        elif c.tenant != s.tenant:
            expected = ArtifactNotFound
        else:
            expected = self.expect(c, sid, Role.WRITER, "write", s.state != SessionState.ARCHIVED, SessionNotActive)
        if self.run(expected, self.m.delete_artifact, aid, caller=c) is not FAILED:
            del s.artifacts[aid]
        self.record(sid)

    # -- history -------------------------------------------------------------------------------------

    def _point(self, data: st.DataObject, sid: str) -> int:
        s = self.sessions.get(sid)
        return data.draw(st.integers(1, s.history[-1].seq)) if s else 1

    def _reclaimed(self, artifacts: dict[str, MArtifact]) -> bool:
        return any(d not in self.present for a in artifacts.values() for d, _ in CHUNKS[a.content])

    @rule(data=st.data(), c=st.sampled_from(CALLERS))
    def fork(self, data: st.DataObject, c: Caller) -> None:
        sid = self.pick(data)
        seq = self._point(data, sid)
        s = self.sessions.get(sid)
        expected = self.expect(c, sid, Role.WRITER, "read", True, SessionNotActive)
        if expected is None and s is not None and self._reclaimed(s.at(seq).artifacts):
            expected = MissingChunks  # a fork is whole or refused
        child = self.run(expected, self.m.fork_session, sid, at_seq=seq, caller=c)
        self.record(sid)
        if child is FAILED:
            return
        assert s is not None
        point = s.at(seq)
        admin = ADMIN[c.tenant]
        copies = self.m.list_artifacts(child.session_id, all_versions=True, page_size=1000, caller=admin).items
        assert sorted((a.name, a.version, a.content_digest) for a in copies) == sorted(
            (a.name, a.version, blake3(a.content).hexdigest()) for a in point.artifacts.values()
        )
        new = MSession(c.tenant, c.subject, child.name, kv=dict(point.kv))
        for a in copies:
            new.artifacts[a.artifact_id] = next(
                m for m in point.artifacts.values() if (m.name, m.version) == (a.name, a.version)
            )
            new.versions[a.name] = max(new.versions[a.name], a.version)
            self.referenced(new.artifacts[a.artifact_id].content)
        self.sessions[child.session_id] = new
        self.record(child.session_id)

    @rule(data=st.data(), c=st.sampled_from(CALLERS))
    def rewind(self, data: st.DataObject, c: Caller) -> None:
        sid = self.pick(data)
        seq = self._point(data, sid)
        s = self.sessions.get(sid)
        expected = self._artifact_expected(c, sid)
        if expected is None and s is not None:
            target = s.at(seq)
            restored = {aid: a for aid, a in target.artifacts.items() if aid not in s.artifacts}
            if self._reclaimed(restored):
                expected = MissingChunks
        if self.run(expected, self.m.rewind_session, sid, to_seq=seq, caller=c) is not FAILED:
            assert s is not None
            point = s.at(seq)
            s.kv, s.artifacts = dict(point.kv), dict(point.artifacts)
            for a in s.artifacts.values():
                self.referenced(a.content)
        self.record(sid)

    # -- maintenance -----------------------------------------------------------------------------------

    @rule(which=st.sampled_from(["gc", "uploads", "compact"]))
    def maintenance(self, which: str) -> None:
        if which == "gc":
            self.m.collect_garbage()
            held = self.refs()
            protected = {d for _, d in self.reserved}
            self.present = {d for d in self.present if held[d] or d in protected}
        elif which == "uploads":
            assert self.m.expire_uploads() == 0  # nothing is 24 hours old
        elif which == "compact":
            self.m.compact_segments(settle=0)
        self.verified.clear()  # re-read every artifact after the store moved or dropped bytes

    # -- what every caller sees ---------------------------------------------------------------------

    @invariant()
    def visible_sessions_agree(self) -> None:
        for c in CALLERS:
            page = self.m.list_sessions(page_size=1000, states=ALL_STATES, caller=c)
            seen = {s.session_id for s in page.items}
            want = {
                sid
                for sid, s in self.sessions.items()
                if s.tenant == c.tenant and (c.role == Role.ADMIN or c.subject == s.owner or c.subject in s.grants)
            }
            assert seen == want, (c.subject, seen ^ want)

    @invariant()
    def sessions_agree(self) -> None:
        for sid, s in self.sessions.items():
            admin = ADMIN[s.tenant]
            got = self.m.get_session(sid, caller=admin)
            live = s.artifacts
            assert (got.state, got.name, got.grants) == (s.state, s.name, s.grants), sid
            assert (got.artifact_count, got.artifact_bytes) == (len(live), sum(len(a.content) for a in live.values()))
            assert self.m.get_session_state(sid, caller=admin) == s.kv, sid
            listed = self.m.list_artifacts(sid, all_versions=True, page_size=1000, caller=admin).items
            assert {a.artifact_id for a in listed} == set(live), sid
            for aid, a in live.items():
                if aid not in self.verified:
                    artifact, content = self.m.get_artifact(sid, aid, caller=admin)
                    assert content == a.content and (artifact.name, artifact.version) == (a.name, a.version), aid
                    self.verified.add(aid)

    @invariant()
    def tenants_never_see_each_other(self) -> None:
        for sid, s in list(self.sessions.items())[:4]:
            stranger = ADMIN[T2 if s.tenant == T1 else T1]
            with pytest.raises(SessionNotFound):
                self.m.get_session(sid, caller=stranger)
            for aid in list(s.artifacts)[:2]:
                with pytest.raises(ArtifactNotFound):
                    self.m.get_artifact_info(aid, caller=stranger)
        for sid in self.gone[-2:]:
            with pytest.raises(SessionNotFound):
                self.m.get_session(sid, caller=ADAM)

    def teardown(self) -> None:
        self.m.close()
        try:
            report = check_store(self.path)
            assert report.ok, format_report(report)
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


EngineModel.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=STEPS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
test_engine_model = EngineModel.TestCase
