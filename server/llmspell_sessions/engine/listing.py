"""ListSessions: filters, orderings and paging through the session_index column family."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from ..errors import InvalidArgument
from ..model import Caller, Page, Role, Session, SessionState
from ..storage import Storage, keys
from . import validation
from .codec import clone_session, to_micros
from .paging import decode_token, encode_token, query_fingerprint
from .records import SessionRecords, state_counter

# order_by -> (index kind, descending)
ORDERINGS = {
    "create_time desc": (keys.INDEX_CREATE, True),
    "create_time": (keys.INDEX_CREATE, False),
    "create_time asc": (keys.INDEX_CREATE, False),
    "update_time desc": (keys.INDEX_UPDATE, True),
    "update_time": (keys.INDEX_UPDATE, False),
    "update_time asc": (keys.INDEX_UPDATE, False),
    "name": (keys.INDEX_NAME, False),
    "name asc": (keys.INDEX_NAME, False),
    "name desc": (keys.INDEX_NAME, True),
}
DEFAULT_STATES = frozenset(s for s in SessionState if s not in (SessionState.UNSPECIFIED, SessionState.ARCHIVED))
_FETCH_BATCH = 64


@dataclass(frozen=True)
class _Query:
    states: frozenset[SessionState]
    tags: tuple[str, ...]
    parent_session_id: str
    created_by: str
    after_us: int
    before_us: int
    search: str
    order_by: str
    viewer: str = ""  # set for non-admins: only sessions they own or were granted

    def matches(self, s: Session) -> bool:
        if s.state not in self.states:
            return False
        if self.viewer and s.created_by != self.viewer and self.viewer not in s.grants:
            return False
        if self.parent_session_id and s.parent_session_id != self.parent_session_id:
            return False
        if self.created_by and s.created_by != self.created_by:
            return False
        if self.tags and not set(self.tags).issubset(s.tags):
            return False
        created = to_micros(s.create_time)
        if (self.after_us and created <= self.after_us) or (self.before_us and created >= self.before_us):
            return False
        return not self.search or self.search in s.name.casefold() or self.search in s.description.casefold()

    @property
    def only_states(self) -> bool:
        """True when no filter but the states one applies, so counters give the total."""
        return not (self.tags or self.parent_session_id or self.created_by or self.after_us) and not (
            self.before_us or self.search or self.viewer
        )


class SessionListing:
    """ListSessions over the session_index column family (reads only)."""

    def __init__(self, records: SessionRecords, storage: Storage) -> None:
        self._records = records
        self.storage = storage

    def page(
        self,
        c: Caller,
        page_size: int,
        page_token: str,
        states: Iterable[SessionState],
        tags: Iterable[str],
        parent_session_id: str,
        created_by: str,
        create_time_after: datetime | None,
        create_time_before: datetime | None,
        search: str,
        order_by: str,
    ) -> Page:
        """One page of the caller's sessions; ARCHIVED ones only when asked for by state."""
        size = validation.page_size(page_size)
        query = self.query(
            c, states, tags, parent_session_id, created_by, create_time_after, create_time_before, search, order_by
        )
        fingerprint = self.fingerprint(c, query)
        last_key, total = decode_token(page_token, fingerprint) if page_token else (b"", -1)
        if total < 0:
            total = self.total(c.tenant, query)
        sessions: list[Session] = []
        next_token = ""
        for index_key, session in self.scan(c.tenant, query, last_key):
            if len(sessions) == size:
                next_token = encode_token(last_key, total, fingerprint)
                break
            sessions.append(clone_session(session))
            last_key = index_key
        return Page(sessions, next_token, total)

    def query(
        self,
        c: Caller,
        states: Iterable[SessionState] = (),
        tags: Iterable[str] = (),
        parent_session_id: str = "",
        created_by: str = "",
        create_time_after: datetime | None = None,
        create_time_before: datetime | None = None,
        search: str = "",
        order_by: str = "",
    ) -> _Query:
        """The checked filters as one query, narrowed to what the caller may see (non-admins: the
        sessions they own or were granted)."""
        query = self._query(
            states, tags, parent_session_id, created_by, create_time_after, create_time_before, search, order_by
        )
        return dataclasses.replace(query, viewer=c.subject) if c.role < Role.ADMIN else query

    @staticmethod
    def fingerprint(c: Caller, query: _Query, *more: object) -> str:
        """What a page token is bound to: the tenant, the query and any more fields of the caller's."""
        return query_fingerprint(
            [
                c.tenant,
                query.viewer,
                sorted(query.states),
                query.tags,
                query.parent_session_id,
                query.created_by,
                query.after_us,
                query.before_us,
                query.search,
                query.order_by,
                *more,
            ]
        )

    @staticmethod
    def _query(
        states: Iterable[SessionState],
        tags: Iterable[str],
        parent_session_id: str,
        created_by: str,
        after: datetime | None,
        before: datetime | None,
        search: str,
        order_by: str,
    ) -> _Query:
        wanted = frozenset(SessionState(s) for s in states)
        if SessionState.UNSPECIFIED in wanted:
            raise InvalidArgument("states must not contain SESSION_STATE_UNSPECIFIED", field="states")
        order = " ".join(order_by.lower().split()) or "create_time desc"
        if order not in ORDERINGS:
            raise InvalidArgument(f"order_by {order_by!r} is not one of {sorted(ORDERINGS)}", field="order_by")
        validation.optional_session_id(parent_session_id, "parent_session_id")
        return _Query(
            states=wanted or DEFAULT_STATES,
            tags=tuple(validation.tags(tags)),
            parent_session_id=parent_session_id,
            created_by=validation.text(created_by, "created_by", max_bytes=256),
            after_us=validation.time_after(after),
            before_us=validation.time_before(before),
            search=validation.text(search, "search", max_bytes=1024).casefold(),
            order_by=order,
        )

    def total(self, tenant: str, query: _Query) -> int:
        """How many sessions match the query."""
        if query.only_states:
            return sum(self._records.counter(tenant, state_counter(s)) for s in query.states)
        return sum(1 for _ in self.scan(tenant, query, b""))

    def scan(self, tenant: str, query: _Query, after_key: bytes) -> Iterator[tuple[bytes, Session]]:
        """(index key, session) of every match, in order, strictly after after_key."""
        kind, descending = ORDERINGS[query.order_by]
        prefix = keys.tenant_prefix(tenant) + kind
        if kind == keys.INDEX_CREATE and query.parent_session_id:
            prefix = keys.tenant_prefix(tenant) + keys.INDEX_PARENT + query.parent_session_id.encode()
        start, stop = self._bounds(prefix, kind, descending, query)
        if after_key:
            if not after_key.startswith(prefix):
                raise InvalidArgument("page_token does not fit this query", field="page_token")
            start = after_key
        pending: list[bytes] = []
        for index_key, _ in self.storage.scan("session_index", prefix, start=start, reverse=descending):
            if index_key == after_key:
                continue
            if stop(index_key):
                break
            pending.append(index_key)
            if len(pending) == _FETCH_BATCH:
                yield from self._matching(tenant, pending, query)
                pending = []
        yield from self._matching(tenant, pending, query)

    @staticmethod
    def _bounds(
        prefix: bytes, kind: bytes, descending: bool, query: _Query
    ) -> tuple[bytes | None, Callable[[bytes], bool]]:
        """Where a create-time scan may start and when it may stop, from the time filters."""
        if kind != keys.INDEX_CREATE:
            return None, lambda key: False
        width = len(prefix)

        def created(key: bytes) -> int:
            return int.from_bytes(key[width : width + keys.TIME_BYTES], "big")

        if descending:
            start = prefix + keys.micros(query.before_us) if query.before_us else None
            return start, (lambda key: bool(query.after_us) and created(key) <= query.after_us)
        start = prefix + keys.micros(query.after_us + 1) if query.after_us else None
        return start, (lambda key: bool(query.before_us) and created(key) >= query.before_us)

    def _matching(self, tenant: str, index_keys: list[bytes], query: _Query) -> Iterator[tuple[bytes, Session]]:
        if not index_keys:
            return
        skeys = [keys.session_key(tenant, keys.session_id_of_index_key(k)) for k in index_keys]
        for index_key, session in zip(index_keys, self._records.load_many(skeys), strict=True):
            if session is not None and query.matches(session):
                yield index_key, session
