"""LlmspellSessionService: ADK's ``BaseSessionService`` over llmspell sessions.

An ADK session (app, user, id) is a session tagged ``adk``, ``adk-app:<hash>`` and ``adk-user:<hash>``.
Its events are client events of type ``adk.event`` (the event's JSON), its session-scoped state is
the session's state; ``append_event`` writes the event and its session-scoped delta in one atomic
ApplyChanges. ``app:`` keys live in one state session per app and ``user:`` keys in one per
(app, user) -- shared by every session of the app or user, as ADK requires -- and ``temp:`` keys are
applied to the caller's session object only, never stored.
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from typing import Any

from google.adk.errors.already_exists_error import AlreadyExistsError
from google.adk.errors.session_not_found_error import SessionNotFoundError
from google.adk.events.event import Event
from google.adk.sessions import _session_util
from google.adk.sessions.base_session_service import BaseSessionService, GetSessionConfig, ListSessionsResponse
from google.adk.sessions.session import Session as AdkSession
from google.adk.sessions.state import State

from ...errors import SessionNotFound
from ...model import RelatedState, Session, SessionRead
from .._backend import SessionBackend
from .._directory import SessionDirectory, key_tag

FRAMEWORK = "adk"
EVENT_TYPE = "adk.event"
CREATED = "adk/created"
MAX_PAGE = 1000  # state keys and events per ReadSession (the server's maximum)


def session_key(app_name: str, user_id: str, session_id: str) -> str:
    return f"{app_name}\x00{user_id}\x00{session_id}"


class LlmspellSessionService(BaseSessionService):
    """ADK sessions, events and scoped state stored in llmspell sessions (embedded or gRPC)."""

    def __init__(self, backend: SessionBackend, *, max_active_sessions: int | None = None) -> None:
        self.backend = backend
        self.sessions = SessionDirectory(backend, FRAMEWORK, max_active=max_active_sessions)
        self.scopes = SessionDirectory(backend, "adk-state", max_active=max_active_sessions)

    # -- the service ----------------------------------------------------------------------------

    async def create_session(
        self, *, app_name: str, user_id: str, state: dict[str, Any] | None = None, session_id: str | None = None
    ) -> AdkSession:
        return await asyncio.to_thread(self._create, app_name, user_id, state, session_id)

    async def get_session(
        self, *, app_name: str, user_id: str, session_id: str, config: GetSessionConfig | None = None
    ) -> AdkSession | None:
        return await asyncio.to_thread(self._get, app_name, user_id, session_id.strip(), config)

    async def list_sessions(self, *, app_name: str, user_id: str | None = None) -> ListSessionsResponse:
        return await asyncio.to_thread(self._list, app_name, user_id)

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        await asyncio.to_thread(self.sessions.delete, session_key(app_name, user_id, session_id.strip()))

    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        return await asyncio.to_thread(self._scope_state, _scope_keys(app_name, user_id)[1])

    async def append_event(self, session: AdkSession, event: Event) -> Event:
        """Stores the event and its state delta; temp: keys reach only the session object."""
        if event.partial:
            return event
        key = session_key(session.app_name, session.user_id, session.id)
        if await asyncio.to_thread(self.sessions.find, key) is None:
            raise SessionNotFoundError(f"Session {session.id} not found.")
        event = await super().append_event(session=session, event=event)
        session.last_update_time = event.timestamp
        await asyncio.to_thread(self._store_event, session.app_name, session.user_id, key, event)
        return event

    # -- blocking work --------------------------------------------------------------------------

    def _create(self, app_name: str, user_id: str, state: dict[str, Any] | None, session_id: str | None) -> AdkSession:
        session_id = (session_id or "").strip() or str(uuid.uuid4())
        key = session_key(app_name, user_id, session_id)
        if self.sessions.find(key) is not None:
            raise AlreadyExistsError(f"Session with id {session_id} already exists.")
        deltas = _session_util.extract_state_delta(state or {})
        self._update_scopes(app_name, user_id, deltas)
        for scope_key in _scope_keys(app_name, user_id):  # get_session then reads them beside the session
            self.scopes.ensure(scope_key)
        extra = {"app_name": app_name, "user_id": user_id, "adk_session_id": session_id}
        sid = self.sessions.ensure(key, extra, self._tags(app_name, user_id))
        self.backend.set_session_state(sid, {**deltas["session"], CREATED: True})
        record = self.backend.get_session(sid)
        return _merged(session_id, deltas["session"], [], record, self._scope_states(app_name, user_id))

    @staticmethod
    def _tags(app_name: str, user_id: str) -> list[str]:
        return [key_tag("adk-app", app_name), key_tag("adk-user", f"{app_name}\x00{user_id}")]

    def _get(self, app_name: str, user_id: str, session_id: str, config: GetSessionConfig | None) -> AdkSession | None:
        """One ReadSession: the session's state, the app and user states beside it and its last
        events; more calls only past what one response holds (1000 events, 3 MiB)."""
        key = session_key(app_name, user_id, session_id)
        for attempt in range(2):
            sid = self.sessions.find(key)
            if sid is None:
                return None
            scopes = [self.scopes.find(k) for k in _scope_keys(app_name, user_id)]
            wanted = config.num_recent_events if config is not None and config.num_recent_events is not None else None
            try:
                read = self.backend.read_session(
                    sid,
                    page_size=MAX_PAGE,
                    last_events=min(wanted, MAX_PAGE) if wanted is not None else MAX_PAGE,
                    event_types=[EVENT_TYPE],
                    related_session_ids=[s for s in scopes if s is not None],
                )
            except SessionNotFound:  # deleted behind our cached ids (another process): look again, once
                if attempt:
                    raise
                self.sessions.forget(key)
                for scope_key in _scope_keys(app_name, user_id):
                    self.scopes.forget(scope_key)
                continue
            return self._from_read(app_name, user_id, session_id, sid, scopes, read, wanted, config)
        return None

    def _from_read(
        self,
        app_name: str,
        user_id: str,
        session_id: str,
        sid: str,
        scopes: list[str | None],
        read: SessionRead,
        wanted: int | None,
        config: GetSessionConfig | None,
    ) -> AdkSession:
        state = dict(read.entries)
        token = read.next_state_page_token
        while token:  # more keys than one page
            page = self.backend.read_session(sid, page_size=MAX_PAGE, page_token=token)
            state.update(page.entries)
            token = page.next_state_page_token
        state.pop(CREATED, None)
        complete = not read.events_truncated and (len(read.events) < MAX_PAGE or wanted == len(read.events))
        if complete:
            events = [Event.model_validate_json(e.payload["event"]) for e in read.events]
        else:
            events = self._events(sid)
        related = {r.session_id: r for r in read.related}
        app_state, user_state = (self._related_state(related.get(s or "")) for s in scopes)
        return _merged(
            session_id, state, _window(events, config), read.session, (app_name, user_id, app_state, user_state)
        )

    def _related_state(self, related: RelatedState | None) -> dict[str, Any]:
        if related is None:
            return {}
        return self.backend.get_session_state(related.session_id) if related.truncated else related.state

    def _events(self, sid: str) -> list[Event]:
        events, token = [], ""
        while True:
            page = self.backend.list_events(sid, types=[EVENT_TYPE], page_size=MAX_PAGE, page_token=token)
            events += [Event.model_validate_json(e.payload["event"]) for e in page.items]
            token = page.next_page_token
            if not token:
                return events

    def _list(self, app_name: str, user_id: str | None) -> ListSessionsResponse:
        tag = key_tag("adk-app", app_name) if user_id is None else key_tag("adk-user", f"{app_name}\x00{user_id}")
        found: list[AdkSession] = []
        scoped: dict[str, Scoped] = {}  # one read of the app and user states per user listed
        token = ""
        while True:
            page = self.backend.list_sessions(page_size=1000, page_token=token, tags=[FRAMEWORK, tag])
            for record in page.items:
                meta = record.metadata
                state = self.backend.get_session_state(record.session_id)
                state.pop(CREATED, None)
                owner = meta["user_id"]
                if owner not in scoped:
                    scoped[owner] = self._scope_states(app_name, owner)
                found.append(_merged(meta["adk_session_id"], state, [], record, scoped[owner]))
            token = page.next_page_token
            if not token:
                break
        found.sort(key=lambda s: (s.last_update_time, s.user_id, s.id))
        return ListSessionsResponse(sessions=found)

    def _store_event(self, app_name: str, user_id: str, key: str, event: Event) -> None:
        deltas = _session_util.extract_state_delta(event.actions.state_delta if event.actions else {})
        self._update_scopes(app_name, user_id, deltas)
        payload = {"event": event.model_dump_json(exclude_none=True), "id": event.id, "author": event.author}
        # The event and its session-scoped delta in one ApplyChanges: both land or neither does
        # (the log then reads state.changed, adk.event; readers select adk.event by type).
        events = [{"type": EVENT_TYPE, "payload": payload}]
        self.sessions.write(key, lambda sid: self.backend.apply_changes(sid, deltas["session"], events=events))

    def _update_scopes(self, app_name: str, user_id: str, deltas: dict[str, dict[str, Any]]) -> None:
        for scope, key in zip(("app", "user"), _scope_keys(app_name, user_id), strict=True):
            if deltas[scope]:
                self.scopes.write(key, functools.partial(_set_state, self.backend, deltas[scope]))

    def _scope_state(self, key: str) -> dict[str, Any]:
        sid = self.scopes.find(key)
        return self.backend.get_session_state(sid) if sid is not None else {}

    def _scope_states(self, app_name: str, user_id: str) -> Scoped:
        app_key, user_key = _scope_keys(app_name, user_id)
        return app_name, user_id, self._scope_state(app_key), self._scope_state(user_key)


Scoped = tuple[str, str, dict[str, Any], dict[str, Any]]
"""(app name, user id, app state, user state): what every ADK session of that user sees."""


def _scope_keys(app_name: str, user_id: str) -> tuple[str, str]:
    """The directory keys of the app's and the user's state sessions."""
    return f"app\x00{app_name}", f"user\x00{app_name}\x00{user_id}"


def _merged(session_id: str, state: dict[str, Any], events: list[Event], record: Session, scoped: Scoped) -> AdkSession:
    app_name, user_id, app_state, user_state = scoped
    merged = dict(state)
    merged.update({State.APP_PREFIX + k: v for k, v in app_state.items()})
    merged.update({State.USER_PREFIX + k: v for k, v in user_state.items()})
    updated = events[-1].timestamp if events else (record.update_time.timestamp() if record.update_time else 0.0)
    return AdkSession(
        app_name=app_name, user_id=user_id, id=session_id, state=merged, events=events, last_update_time=updated
    )


def _set_state(backend: SessionBackend, entries: dict[str, Any], session_id: str) -> None:
    backend.set_session_state(session_id, entries)


def _window(events: list[Event], config: GetSessionConfig | None) -> list[Event]:
    """num_recent_events and after_timestamp, exactly as InMemorySessionService applies them."""
    if config is None:
        return events
    if config.num_recent_events is not None:
        events = events[-config.num_recent_events :] if config.num_recent_events else []
    if config.after_timestamp is not None:
        i = len(events) - 1
        while i >= 0 and events[i].timestamp >= config.after_timestamp:
            i -= 1
        events = events[i + 1 :]
    return events
