"""SessionDirectory: finds, creates and keeps writable the session behind a framework's key.

A framework names its conversations with its own keys (a LangGraph thread id, an Agents SDK session
id, an ADK (app, user, session) triple). Each key gets one session, found again by a tag derived
from the key (``<framework>:<hash>``) and cached in the adapter. Only ACTIVE sessions accept
writes, so before writing the directory revives the key's session: a SUSPENDED one (idle timeout,
or suspended to make room) is resumed; a COMPLETED, FAILED (lifetime timeout) or ARCHIVED one is
forked -- state and artifacts carry over, no bytes are copied -- and the old one is archived.
When ``max_sessions`` is reached, the directory suspends the least recently written session it
activated itself and tries again.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

from ..errors import LlmspellError, ResourceExhausted, SessionNotActive, SessionNotFound
from ..model import Session, SessionState
from ._backend import SessionBackend

T = TypeVar("T")

LIVE_STATES = (SessionState.ACTIVE, SessionState.SUSPENDED, SessionState.COMPLETED, SessionState.FAILED)
ALL_STATES = (*LIVE_STATES, SessionState.ARCHIVED)
_PREFERENCE = {SessionState.ACTIVE: 0, SessionState.SUSPENDED: 1}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_ATTEMPTS = 4


def key_tag(framework: str, key: str) -> str:
    """The tag that finds a key's session: short and printable whatever the key is."""
    return f"{framework}:{hashlib.blake2b(key.encode(), digest_size=16).hexdigest()}"


def printable_name(key: str) -> str:
    """A session name for a key: control characters dropped, at most 255 bytes."""
    return _CONTROL.sub("", key).encode()[:255].decode(errors="ignore")


class SessionDirectory:
    """Key -> session id for one framework, with the revival rules in the module docstring."""

    def __init__(self, backend: SessionBackend, framework: str, *, max_active: int | None = None) -> None:
        self.backend = backend
        self.framework = framework
        self.max_active = max_active
        self._ids: dict[str, str] = {}
        self._active: OrderedDict[str, None] = OrderedDict()  # sessions we made ACTIVE, oldest first
        self._lock = threading.RLock()

    # -- lookups ----------------------------------------------------------------------------

    def find(self, key: str) -> str | None:
        """The key's session id, or None when the key has none."""
        cached = self._ids.get(key)
        if cached is not None:
            return cached
        sessions = self._matching(key, LIVE_STATES)
        if not sessions:
            return None
        newest_first = sorted(sessions, key=lambda s: s.session_id, reverse=True)  # UUIDv7: time-ordered
        best = min(newest_first, key=lambda s: _PREFERENCE.get(s.state, 2))
        self._ids[key] = best.session_id
        return best.session_id

    def _matching(self, key: str, states: tuple[SessionState, ...]) -> list[Session]:
        tag = key_tag(self.framework, key)
        found: list[Session] = []
        token = ""
        while True:
            page = self.backend.list_sessions(page_size=1000, page_token=token, states=states, tags=[tag])
            found.extend(s for s in page.items if s.metadata.get("key", key) == key)
            token = page.next_page_token
            if not token:
                return found

    def keys(self) -> Iterator[tuple[str, str]]:
        """(key, session id) of every live session of this framework."""
        token = ""
        while True:
            page = self.backend.list_sessions(
                page_size=1000, page_token=token, states=LIVE_STATES, tags=[self.framework]
            )
            for s in page.items:
                yield str(s.metadata.get("key", s.name)), s.session_id
            token = page.next_page_token
            if not token:
                return

    def forget(self, key: str) -> None:
        """Drops the cached id (after the session was deleted or replaced)."""
        sid = self._ids.pop(key, None)
        if sid is not None:
            self._active.pop(sid, None)

    # -- creation and writes ------------------------------------------------------------------

    def ensure(self, key: str, metadata: Mapping[str, Any] | None = None, tags: Iterable[str] = ()) -> str:
        """The key's session id, creating an ACTIVE session (with extra tags) when it has none."""
        sid = self.find(key)
        if sid is not None:
            return sid
        with self._lock:
            sid = self.find(key)
            if sid is None:
                sid = self._with_room(lambda: self._create(key, metadata, tags))
                self._ids[key] = sid
                self._touch(sid)
            return sid

    def _create(self, key: str, metadata: Mapping[str, Any] | None, tags: Iterable[str]) -> str:
        tag = key_tag(self.framework, key)
        meta = {"framework": self.framework, "key": key, **(metadata or {})}
        return self.backend.create_session(
            name=printable_name(key), tags=[self.framework, tag, *tags], metadata=meta, request_id=f"{tag}:create"
        )

    def write(self, key: str, operation: Callable[[str], T], metadata: Mapping[str, Any] | None = None) -> T:
        """Runs operation(session_id) on the key's session, reviving or re-finding it as needed."""
        for _ in range(MAX_ATTEMPTS):
            sid = self.ensure(key, metadata)
            try:
                result = operation(sid)
            except SessionNotFound:
                self.forget(key)  # deleted elsewhere: find or create again
                continue
            except SessionNotActive:
                self.revive(key, sid)
                continue
            self._touch(sid)
            return result
        sid = self.ensure(key, metadata)
        return operation(sid)

    def revive(self, key: str, session_id: str) -> str:
        """Makes the key's session ACTIVE again (resume, or fork and archive); returns its id."""
        with self._lock:
            session = self.backend.get_session(session_id)
            if session.state == SessionState.ACTIVE:
                return session_id
            if session.state == SessionState.SUSPENDED:
                self._with_room(lambda: self.backend.resume_session(session_id))
                self._touch(session_id)
                return session_id
            child = self._with_room(lambda: self.backend.fork_session(session_id, name=session.name))
            if session.state != SessionState.ARCHIVED:
                self.backend.archive_session(session_id)
            self.forget(key)
            self._ids[key] = child.session_id
            self._touch(child.session_id)
            return child.session_id

    def delete(self, key: str) -> bool:
        """Deletes every session of the key (archived ones too); True when there was one."""
        with self._lock:
            sessions = self._matching(key, ALL_STATES)
            for session in sessions:
                try:
                    self.backend.delete_session(session.session_id)
                except SessionNotFound:
                    pass
            self.forget(key)
            return bool(sessions)

    def fork_as(self, source_session_id: str, key: str) -> str:
        """Forks a session (its state and artifacts as they are now) into a new session for key."""
        with self._lock:
            child = self._with_room(lambda: self.backend.fork_session(source_session_id, name=printable_name(key)))
            self.backend.update_session(
                child.session_id,
                tags=[self.framework, key_tag(self.framework, key)],
                metadata={"framework": self.framework, "key": key},
            )
            self._ids[key] = child.session_id
            self._touch(child.session_id)
            return child.session_id

    # -- the max_sessions budget -------------------------------------------------------------

    def _touch(self, session_id: str) -> None:
        self._active[session_id] = None
        self._active.move_to_end(session_id)
        if self.max_active is not None:
            while len(self._active) > self.max_active:
                self._suspend_oldest(exclude=session_id)

    def _with_room(self, make: Callable[[], T]) -> T:
        """make(); when max_sessions is reached, suspends our least recent session and retries."""
        while True:
            try:
                return make()
            except ResourceExhausted as error:
                if error.metadata.get("limit") != "max_sessions" or not self._suspend_oldest(exclude=""):
                    raise

    def _suspend_oldest(self, exclude: str) -> bool:
        for sid in list(self._active):
            if sid == exclude:
                continue
            self._active.pop(sid, None)
            try:
                self.backend.suspend_session(sid)
                return True
            except LlmspellError:  # already gone, or no longer ACTIVE
                continue
        return False


__all__ = ["SessionDirectory", "key_tag"]
