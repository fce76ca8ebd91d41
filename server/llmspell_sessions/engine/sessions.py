"""Sessions: create, read, update, lifecycle transitions, delete, save, load, grants, timeouts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ..errors import EtagMismatch, InvalidArgument, SessionNotActive, SessionNotFound
from ..model import UPDATABLE_SESSION_FIELDS, Artifact, Caller, EventSpec, LoadedSession, Session, SessionState
from ..storage import Storage, keys
from . import validation
from .admission import READ, WRITE
from .codec import clone_session, now, to_micros
from .ids import uuid7
from .limits import REQUEST_ID_TTL_SECONDS
from .state_machine import transition
from .unit_of_work import UnitOfWork, Units


class SessionContents(Protocol):
    """What a session holds besides its record: read whole by load, released by delete."""

    def read_state(self, skey: bytes, record: Session) -> dict[str, Any]: ...

    def latest_artifacts(self, skey: bytes) -> list[Artifact]: ...

    def release_session(self, uow: UnitOfWork, skey: bytes) -> None: ...


def require_active(session: Session) -> None:
    if session.state != SessionState.ACTIVE:
        raise SessionNotActive(
            f"session is {session.state.name}; only ACTIVE sessions accept this",
            session_id=session.session_id,
            state=session.state.name,
        )


def require_writable(session: Session) -> None:
    if session.state == SessionState.ARCHIVED:
        raise SessionNotActive("ARCHIVED sessions are read-only", session_id=session.session_id)


def check_etag(session: Session, etag: str) -> None:
    if etag and etag != session.etag:
        raise EtagMismatch(
            f"etag {etag!r} is stale (current {session.etag!r})",
            session_id=session.session_id,
            current_etag=session.etag,
        )


class Sessions:
    """The session records' operations; the state and artifacts come in through SessionContents."""

    def __init__(self, units: Units, storage: Storage, contents: SessionContents) -> None:
        self._units = units
        self._storage = storage
        self._contents = contents
        self._loaded: set[bytes] = set()  # sessions this process has loaded (see load)

    def create(
        self,
        caller: Caller,
        name: str,
        description: str,
        tags: Iterable[str],
        metadata: Mapping[str, Any] | None,
        parent_session_id: str,
        request_id: str,
    ) -> Session:
        name = validation.name(name)
        description = validation.description(description)
        tag_list = validation.tags(tags)
        meta = validation.metadata(metadata)
        validation.optional_session_id(parent_session_id, "parent_session_id")
        validation.request_id(request_id)
        with self._units.begin(caller) as uow:
            if request_id:
                uow.lock_row(("session_index", keys.request_key(caller.tenant, caller.subject, request_id)))
                existing = self._for_request(caller, request_id)
                if existing is not None:
                    return clone_session(existing)
            if parent_session_id:
                uow.session(parent_session_id, READ, "parent_session_id")
            time = uow.time
            session = Session(
                session_id=uuid7(),
                name=name,
                description=description,
                tags=tag_list,
                metadata=meta,
                state=SessionState.ACTIVE,
                parent_session_id=parent_session_id,
                created_by=caller.subject,
                create_time=time,
                active_since=time,
            )
            skey = keys.session_key(caller.tenant, session.session_id)
            if request_id:
                stamp = to_micros(time).to_bytes(8, "big")
                uow.batch.put(
                    "session_index", keys.request_key(caller.tenant, caller.subject, request_id), stamp + skey[-36:]
                )
            payload = {
                "name": name,
                "description": description,
                "tags": tag_list,
                "metadata": meta,
                "parent_session_id": parent_session_id,
            }
            uow.record(skey, None, session, [EventSpec("session.created", payload)], operation="create_session")
            uow.commit()
            return clone_session(session)

    def _for_request(self, caller: Caller, request_id: str) -> Session | None:
        raw = self._storage.get("session_index", keys.request_key(caller.tenant, caller.subject, request_id))
        if raw is None or to_micros(now()) - int.from_bytes(raw[:8], "big") > REQUEST_ID_TTL_SECONDS * 1_000_000:
            return None
        try:
            return self._units.read_session(caller, raw[8:].decode(), READ)[1]
        except SessionNotFound:
            return None

    def get(self, caller: Caller, session_id: str) -> Session:
        return clone_session(self._units.read_session(caller, session_id, READ)[1])

    def update(self, caller: Caller, session_id: str, changes: dict[str, Any], etag: str) -> Session:
        """Changes the fields given (name, description, tags, metadata); ARCHIVED sessions are read-only."""
        checked: dict[str, Any] = {}
        for field, value in changes.items():
            if field == "name":
                checked[field] = validation.name(value)
            elif field == "description":
                checked[field] = validation.description(value)
            elif field == "tags":
                checked[field] = validation.tags(value)
            elif field == "metadata":
                checked[field] = validation.metadata(value)
            else:
                allowed = UPDATABLE_SESSION_FIELDS
                raise InvalidArgument(f"{field} cannot be updated; updatable: {allowed}", field="update_mask")
        with self._units.begin(caller) as uow:
            skey, before = uow.session(session_id, WRITE)
            check_etag(before, etag)
            require_writable(before)
            after = clone_session(before)
            previous = {}
            for field, value in checked.items():
                previous[field] = getattr(before, field)
                setattr(after, field, value)
            payload = {"changes": checked, "previous": previous}
            uow.record(skey, before, after, [EventSpec("session.updated", payload)], operation="update_session")
            uow.commit()
            return clone_session(after)

    def transition(
        self, caller: Caller, name: str, session_id: str, etag: str, reason: str = "", *, dry_run: bool = False
    ) -> Session:
        """suspend, resume, complete, fail or archive (name); with dry_run, every check and no write."""
        reason = validation.text(reason, "reason", max_bytes=4096, single_line=False)
        with self._units.begin(caller, dry_run=dry_run) as uow:
            skey, before = uow.session(session_id, WRITE)
            check_etag(before, etag)
            target, event_type = transition(name, before.state, session_id)
            time = uow.time
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
            uow.record(skey, before, after, [EventSpec(event_type, payload)], operation=f"{name}_session")
            uow.commit()
            return clone_session(after)

    def delete(self, caller: Caller, session_id: str, etag: str, *, dry_run: bool = False) -> None:
        """Deletes the session with its state, events, checkpoints and artifacts (references released);
        with dry_run, every check and no write."""
        with self._units.begin(caller, dry_run=dry_run) as uow:
            skey, session = uow.session(session_id, WRITE)
            check_etag(session, etag)
            self._contents.release_session(uow, skey)
            uow.delete(skey, session, operation="delete_session")
            uow.commit()
        if not dry_run:
            self._loaded.discard(skey)

    def save(self, caller: Caller, session_id: str, durable: bool) -> Session:
        """Appends session.saved; with durable, returns once it and every earlier write is on disk."""
        with self._units.begin(caller) as uow:
            skey, before = uow.session(session_id, WRITE)
            after = before
            if before.state != SessionState.ARCHIVED:  # archived sessions are read-only: no event
                after = clone_session(before)
                spec = EventSpec("session.saved", {"durable": durable})
                uow.record(skey, before, after, [spec], operation="save_session")
                uow.commit()
        if durable:
            # Outside the lock: one WAL fsync makes this write and every earlier one durable, while
            # other operations go on.
            self._storage.sync()
        return clone_session(after)

    def load(self, caller: Caller, session_id: str) -> LoadedSession:
        """The whole restorable session; the first load in this process appends session.loaded
        (a read: a READ grant is enough)."""
        skey, session = self._units.read_session(caller, session_id, READ)
        if skey not in self._loaded and session.state != SessionState.ARCHIVED:
            session = self._record_first_load(caller, session_id)
        state = self._contents.read_state(skey, session)
        artifacts = self._contents.latest_artifacts(skey) if session.artifact_count else []
        return LoadedSession(clone_session(session), state, artifacts)

    def _record_first_load(self, caller: Caller, session_id: str) -> Session:
        with self._units.begin(caller) as uow:
            skey, before = uow.session(session_id, READ)
            if skey in self._loaded:
                return before
            after = clone_session(before)
            uow.record(skey, before, after, [EventSpec("session.loaded", {})], operation="load_session")
            uow.commit()
            self._loaded.add(skey)
            return after

    def set_grant(self, caller: Caller, session_id: str, subject: str, access: str | None) -> Session:
        """Grants a subject "read" or "write" (access), or revokes its grant (None)."""
        subject = validation.text(subject, "subject", max_bytes=256, required=True)
        if access is not None and access not in (READ, WRITE):
            raise InvalidArgument("access must be 'read' or 'write'", field="access")
        with self._units.begin(caller) as uow:
            skey, before = uow.session(session_id, WRITE)
            after = clone_session(before)
            if access is None:
                previous = after.grants.pop(subject, "")
                spec = EventSpec("session.access_revoked", {"subject": subject, "previous": previous})
                operation = "revoke_session_access"
            else:
                after.grants[subject] = access
                spec = EventSpec("session.access_granted", {"subject": subject, "access": access})
                operation = "grant_session_access"
            uow.record(skey, before, after, [spec], operation=operation)
            uow.commit()
            return clone_session(after)

    def sweep_timeouts(self) -> int:
        """Applies every due timeout in the store; returns how many sessions changed."""
        due: list[bytes] = []
        limit = keys.micros(to_micros(now()))
        width = len(keys.EXPIRY_PREFIX)
        for key, _ in self._storage.scan("session_index", keys.EXPIRY_PREFIX):
            if key[width : width + keys.TIME_BYTES] > limit:
                break
            due.append(key[width + keys.TIME_BYTES :])
        changed = 0
        for skey in due:
            tenant, _ = keys.split_session_key(skey)
            if self._units.apply_timeout(tenant, skey) is not None:
                changed += 1
        return changed
