"""Session operations: create, read, update, lifecycle transitions, delete, save and load."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import InvalidArgument, ResourceExhausted, SessionNotActive
from ..model import Caller, LoadedSession, Role, Session, SessionState
from ..storage import WriteBatch
from . import keys, validation
from .codec import clone_session, now, to_micros
from .core import EngineCore
from .hooks import HookContext
from .ids import uuid7
from .state_machine import transition

REQUEST_ID_TTL_SECONDS = 600
UPDATABLE_FIELDS = ("name", "description", "tags", "metadata")


class SessionOps(EngineCore):
    """The session half of the SessionManager."""

    local_caller = Caller()

    def _caller(self, caller: Caller | None) -> Caller:
        return caller if caller is not None else self.local_caller

    def new_session(
        self,
        name: str = "",
        description: str = "",
        tags: Iterable[str] = (),
        metadata: Mapping[str, Any] | None = None,
        parent_session_id: str = "",
        request_id: str = "",
        *,
        caller: Caller | None = None,
    ) -> Session:
        """Creates an ACTIVE session and returns its record (create_session returns only the id)."""
        c = self._caller(caller)
        self.require(c, Role.WRITER)
        name = validation.name(name)
        description = validation.description(description)
        tag_list = validation.tags(tags)
        meta = validation.metadata(metadata)
        validation.optional_session_id(parent_session_id, "parent_session_id")
        validation.request_id(request_id)
        with self.lock:
            if request_id:
                existing = self._session_for_request(c, request_id)
                if existing is not None:
                    return existing
            if parent_session_id:
                self.fetch(c, parent_session_id, "parent_session_id")
            self._check_active_limit(c)
            time = now()
            session = Session(
                session_id=uuid7(),
                name=name,
                description=description,
                tags=tag_list,
                metadata=meta,
                state=SessionState.ACTIVE,
                parent_session_id=parent_session_id,
                created_by=c.subject,
                create_time=time,
                active_since=time,
            )
            skey = keys.session_key(c.tenant, session.session_id)
            batch = WriteBatch()
            if request_id:
                stamp = to_micros(time).to_bytes(8, "big")
                batch.put("session_index", keys.request_key(c.tenant, request_id), stamp + session.session_id.encode())
            payload = {
                "name": name,
                "description": description,
                "tags": tag_list,
                "metadata": meta,
                "parent_session_id": parent_session_id,
            }
            self.commit(
                c, skey, None, session, "session.created", payload, operation="create_session", batch=batch, time=time
            )
            return session

    def create_session(
        self,
        name: str = "",
        description: str = "",
        tags: Iterable[str] = (),
        metadata: Mapping[str, Any] | None = None,
        parent_session_id: str = "",
        request_id: str = "",
        *,
        caller: Caller | None = None,
    ) -> str:
        """Creates an ACTIVE session and returns its id."""
        return self.new_session(
            name, description, tags, metadata, parent_session_id, request_id, caller=caller
        ).session_id

    def _session_for_request(self, caller: Caller, request_id: str) -> Session | None:
        raw = self.storage.get("session_index", keys.request_key(caller.tenant, request_id))
        if raw is None:
            return None
        created_us = int.from_bytes(raw[:8], "big")
        if to_micros(now()) - created_us > REQUEST_ID_TTL_SECONDS * 1_000_000:
            return None
        skey = keys.session_key(caller.tenant, raw[8:].decode())
        session = self._cache.get(skey)
        if session is None and self.storage.get("sessions", skey) is None:
            return None
        return self.fetch(caller, raw[8:].decode())[1]

    def _check_active_limit(self, caller: Caller) -> None:
        active = self.active_sessions(caller.tenant)
        if active >= self.config.max_sessions:
            raise ResourceExhausted(
                f"{active} active sessions; the limit is {self.config.max_sessions}",
                limit="max_sessions",
                tenant=caller.tenant,
            )

    def get_session(self, session_id: str, *, caller: Caller | None = None) -> Session:
        """The session's current record."""
        c = self._caller(caller)
        self.require(c, Role.READER)
        return clone_session(self.fetch_current(c, session_id)[1])

    def update_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        etag: str = "",
        caller: Caller | None = None,
    ) -> Session:
        """Changes the fields given (None = unchanged); ARCHIVED sessions are read-only."""
        c = self._caller(caller)
        self.require(c, Role.WRITER)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = validation.name(name)
        if description is not None:
            changes["description"] = validation.description(description)
        if tags is not None:
            changes["tags"] = validation.tags(tags)
        if metadata is not None:
            changes["metadata"] = validation.metadata(metadata)
        with self.lock:
            skey, before = self.fetch_current(c, session_id)
            self.check_etag(before, etag)
            self._require_writable(before)
            after = clone_session(before)
            old = {}
            for field, value in changes.items():
                old[field] = getattr(before, field)
                setattr(after, field, value)
            payload = {"changes": changes, "previous": old}
            self.commit(c, skey, before, after, "session.updated", payload, operation="update_session")
            return clone_session(after)

    @staticmethod
    def _require_writable(session: Session) -> None:
        if session.state == SessionState.ARCHIVED:
            raise SessionNotActive("ARCHIVED sessions are read-only", session_id=session.session_id)

    @staticmethod
    def require_active(session: Session) -> None:
        if session.state != SessionState.ACTIVE:
            raise SessionNotActive(
                f"session is {session.state.name}; only ACTIVE sessions accept this",
                session_id=session.session_id,
                state=session.state.name,
            )

    def _transition(self, name: str, session_id: str, etag: str, reason: str, caller: Caller | None) -> Session:
        c = self._caller(caller)
        self.require(c, Role.WRITER)
        reason = validation.text(reason, "reason", max_bytes=4096, single_line=False)
        with self.lock:
            skey, before = self.fetch_current(c, session_id)
            self.check_etag(before, etag)
            target, event_type = transition(name, before.state, session_id)
            if target == SessionState.ACTIVE:
                self._check_active_limit(c)
            time = now()
            after = clone_session(before)
            after.state = target
            if target == SessionState.ACTIVE:
                after.active_since = time
            if target in (SessionState.COMPLETED, SessionState.FAILED):
                after.end_time = time
            if target == SessionState.FAILED:
                after.failure_reason = reason
            payload: dict[str, Any] = {"from_state": before.state.name, "to_state": target.name}
            if reason:
                payload["reason"] = reason
            self.commit(c, skey, before, after, event_type, payload, operation=f"{name}_session", time=time)
            return clone_session(after)

    def suspend_session(self, session_id: str, *, etag: str = "", caller: Caller | None = None) -> Session:
        """ACTIVE -> SUSPENDED."""
        return self._transition("suspend", session_id, etag, "", caller)

    def resume_session(self, session_id: str, *, etag: str = "", caller: Caller | None = None) -> Session:
        """SUSPENDED -> ACTIVE (counts against max_sessions)."""
        return self._transition("resume", session_id, etag, "", caller)

    def complete_session(self, session_id: str, *, etag: str = "", caller: Caller | None = None) -> Session:
        """ACTIVE or SUSPENDED -> COMPLETED."""
        return self._transition("complete", session_id, etag, "", caller)

    def fail_session(
        self, session_id: str, reason: str = "", *, etag: str = "", caller: Caller | None = None
    ) -> Session:
        """ACTIVE or SUSPENDED -> FAILED, keeping the reason."""
        return self._transition("fail", session_id, etag, reason, caller)

    def archive_session(self, session_id: str, *, etag: str = "", caller: Caller | None = None) -> Session:
        """COMPLETED or FAILED -> ARCHIVED (read-only, hidden from default listings)."""
        return self._transition("archive", session_id, etag, "", caller)

    def delete_session(self, session_id: str, *, etag: str = "", caller: Caller | None = None) -> None:
        """Deletes the session with its state, events, checkpoints and artifacts."""
        c = self._caller(caller)
        self.require(c, Role.WRITER)
        with self.lock:
            skey, session = self.fetch(c, session_id)
            self.authorize(c, skey, session, write=True)
            self.check_etag(session, etag)
            context = HookContext("delete_session", c, session_id, "", {})
            self.hooks.before(context)  # deletion appends no event: hooks see it directly
            batch = WriteBatch()
            self.release_session_artifacts(batch, c, skey, session)
            counters = self.delete_session_records(batch, c.tenant, skey, session)
            self.storage.write(batch)
            self.apply_counters(counters)
            self.forget(skey)
            self.session_deleted(c.tenant, session)
            self.hooks.after(context, None)

    def release_session_artifacts(self, batch: WriteBatch, caller: Caller, skey: bytes, session: Session) -> None:
        """Adds the removal of the session's artifacts to batch (the artifact store overrides this)."""
        batch.delete_prefix("artifacts", skey)
        batch.delete_prefix("artifact_names", skey)

    def session_deleted(self, tenant: str, session: Session) -> None:
        """Called after a session is deleted (subscriptions override this to end their streams)."""

    def save_session(self, session_id: str, *, durable: bool = True, caller: Caller | None = None) -> Session:
        """Appends session.saved and returns once it and everything before it is on disk (fsync)."""
        c = self._caller(caller)
        self.require(c, Role.WRITER)
        with self.lock:
            skey, before = self.fetch_current(c, session_id)
            after = before
            if before.state != SessionState.ARCHIVED:  # archived sessions are read-only: no event
                after = clone_session(before)
                self.commit(c, skey, before, after, "session.saved", {"durable": durable}, operation="save_session")
        if durable:
            # Outside the lock: one WAL fsync makes this write and every earlier one durable,
            # while other operations go on.
            self.storage.sync()
        return clone_session(after)

    def load_session(self, session_id: str, *, caller: Caller | None = None) -> LoadedSession:
        """The whole restorable session: record, state and the latest version of each artifact."""
        c = self._caller(caller)
        self.require(c, Role.READER)
        skey, session = self.fetch_current(c, session_id)
        if skey not in self._loaded and session.state != SessionState.ARCHIVED:
            session = self._record_first_load(c, session_id)
        state = self.read_state(skey)
        artifacts = self.latest_artifacts(c, skey, session) if session.artifact_count else []
        return LoadedSession(clone_session(session), state, artifacts)

    def _record_first_load(self, caller: Caller, session_id: str) -> Session:
        """Appends session.loaded the first time this process loads a session (a restore)."""
        with self.lock:
            skey, before = self.fetch(caller, session_id)
            if skey in self._loaded:
                return before
            after = clone_session(before)
            self.commit(caller, skey, before, after, "session.loaded", {}, operation="load_session")
            self._loaded.add(skey)
            return after

    def latest_artifacts(self, caller: Caller, skey: bytes, session: Session) -> list:
        """The latest version of each artifact name (the artifact store overrides this)."""
        return []

    def read_state(self, skey: bytes) -> dict[str, Any]:
        raise NotImplementedError  # provided by StateOps

    def grant_session_access(
        self, session_id: str, subject: str, access: str = "read", *, caller: Caller | None = None
    ) -> Session:
        """Admins only: lets another subject of the tenant "read" or "write" the session."""
        c = self._caller(caller)
        self.require(c, Role.ADMIN)
        subject = validation.text(subject, "subject", max_bytes=256, required=True)
        if access not in ("read", "write"):
            raise InvalidArgument("access must be 'read' or 'write'", field="access")
        with self.lock:
            skey, before = self.fetch_current(c, session_id)
            after = clone_session(before)
            after.grants[subject] = access
            payload = {"subject": subject, "access": access}
            self.commit(c, skey, before, after, "session.access_granted", payload, operation="grant_session_access")
            return clone_session(after)

    def revoke_session_access(self, session_id: str, subject: str, *, caller: Caller | None = None) -> Session:
        """Admins only: takes a subject's grant back (a no-op event when there was none)."""
        c = self._caller(caller)
        self.require(c, Role.ADMIN)
        subject = validation.text(subject, "subject", max_bytes=256, required=True)
        with self.lock:
            skey, before = self.fetch_current(c, session_id)
            after = clone_session(before)
            previous = after.grants.pop(subject, "")
            payload = {"subject": subject, "previous": previous}
            self.commit(c, skey, before, after, "session.access_revoked", payload, operation="revoke_session_access")
            return clone_session(after)
