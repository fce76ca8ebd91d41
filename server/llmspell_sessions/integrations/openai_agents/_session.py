"""LlmspellSession: the Agents SDK ``Session`` protocol over one llmspell session.

An SDK session id is a session (tag ``openai-agents:<hash>``). Its items are state entries
``oa/i/<n>`` (the item's JSON text, exactly as ``SQLiteSession`` keeps it; items over the inline
limit go to an artifact) and ``oa/head`` = ``{"first": n, "next": n}`` bounds the live ones. Each
``add_items``, ``pop_item`` and ``clear_session`` is one atomic state write, so the session's
event log holds one ``state.changed`` event per call with the items added or removed: the whole
conversation, pops and clears included, can be replayed or forked.

Round trips (after the first call, which finds the session once): ``get_items`` is one
ReadSession (the head and the newest keys under ``oa/i/``, reverse); ``add_items`` is one
ApplyChanges, because the adapter remembers the head and the etag it last saw and sends the etag
as the write's guard -- a stale view (another writer, an artifact stored) fails with
ETAG_MISMATCH and costs one ReadSession and a retry, never a lost item; ``pop_item`` is one
ApplyChanges when the newest item's value is known from the last add_items or get_items (the
etag guard proves it still is), else a ReadSession (the head and that item) plus the ApplyChanges;
``clear_session`` is a ReadSession (the items, for their artifacts) plus one ApplyChanges per
1000 items.
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass
from typing import Any

from agents.memory.session import SessionABC
from agents.memory.session_settings import SessionSettings, coerce_session_settings, resolve_session_limit

from ...errors import EtagMismatch
from ...model import SessionRead
from .._backend import SessionBackend
from .._blobs import INLINE_LIMIT, BlobCodec
from .._directory import SessionDirectory

FRAMEWORK = "openai-agents"
HEAD = "oa/head"
ITEM_PREFIX = "oa/i/"
MAX_ATTEMPTS = 4  # guarded writes retried after ETAG_MISMATCH before giving up
PAGE = 1000  # ReadSession's largest page


def item_key(n: int) -> str:
    return f"{ITEM_PREFIX}{n:012d}"


def item_number(key: str) -> int:
    return int(key[len(ITEM_PREFIX) :])


def empty_head() -> dict[str, int]:
    return {"first": 0, "next": 0}


@dataclass(frozen=True, slots=True)
class View:
    """What the adapter last saw of a session: its etag, the head and the newest item's stored value
    (None when not seen). True exactly while the etag is current, which every guarded write checks."""

    etag: str
    head: dict[str, int]
    newest: dict[str, Any] | None = None


class LlmspellSession(SessionABC):
    """Conversation history for one Agents SDK session id, stored in an llmspell session.

    ``backend`` is a ``SessionManager`` or a ``SessionClient``. Behaves like ``SQLiteSession``:
    ``get_items(limit)`` returns the latest ``limit`` items in order (all when None or negative),
    ``pop_item`` removes the newest, ``clear_session`` removes all.
    """

    def __init__(
        self,
        session_id: str,
        backend: SessionBackend,
        *,
        session_settings: SessionSettings | dict[str, Any] | None = None,
        inline_limit: int = INLINE_LIMIT,
        directory: SessionDirectory | None = None,
    ) -> None:
        self.session_id = session_id
        self.session_settings = coerce_session_settings(session_settings) if session_settings else SessionSettings()
        self.backend = backend
        self.directory = directory or SessionDirectory(backend, FRAMEWORK)
        self.codec = BlobCodec(backend, inline_limit)
        self._lock = threading.RLock()
        # session id -> what was last read or written: lets add_items skip the head read and
        # pop_item the item read.
        self._views: dict[str, View] = {}

    # -- the protocol -------------------------------------------------------------------------

    async def get_items(self, limit: int | None = None) -> list[Any]:
        """The latest ``limit`` items (default: the settings' limit; None = all), oldest first."""
        return await asyncio.to_thread(self.get_items_sync, resolve_session_limit(limit, self.session_settings))

    async def add_items(self, items: list[Any]) -> None:
        """Appends items (JSON-serialisable, as in SQLiteSession) in one atomic write."""
        if items:
            await asyncio.to_thread(self.add_items_sync, items)

    async def pop_item(self) -> Any | None:
        """Removes and returns the newest item, or None when there is none."""
        return await asyncio.to_thread(self.pop_item_sync)

    async def clear_session(self) -> None:
        """Removes every item (the session's log keeps them)."""
        await asyncio.to_thread(self.clear_session_sync)

    # -- blocking versions ----------------------------------------------------------------------

    def get_items_sync(self, limit: int | None = None) -> list[Any]:
        sid = self.directory.find(self.session_id)
        if sid is None or limit == 0:
            return []
        want = None if limit is None or limit < 0 else limit
        head, newest_first = self._newest(sid, want)
        live = [(k, v) for k, v in newest_first if head["first"] <= item_number(k) < head["next"]]
        return [self._decode(sid, value) for _, value in reversed(live)]

    def _newest(self, sid: str, want: int | None) -> tuple[dict[str, int], list[tuple[str, Any]]]:
        """The head and up to ``want`` (None: all) item entries, newest first: one ReadSession
        unless there are more than a page of them."""
        found: list[tuple[str, Any]] = []
        head: dict[str, int] | None = None
        token = ""
        while True:
            size = PAGE if want is None else min(want - len(found), PAGE)
            read = self._read(sid, size, token)
            if head is None:
                head = self._remember(sid, read)
            found.extend(read.entries)
            token = read.next_state_page_token
            if not token or (want is not None and len(found) >= want):
                return head, found

    def _read(self, sid: str, size: int, token: str = "") -> SessionRead:
        return self.backend.read_session(
            sid, state_keys=[HEAD], state_prefix=ITEM_PREFIX, reverse=True, page_size=size, page_token=token
        )

    def add_items_sync(self, items: list[Any]) -> None:
        texts = [json.dumps(item) for item in items]  # fails before writing, as SQLiteSession does
        with self._lock:
            self.directory.write(self.session_id, lambda sid: self._append(sid, texts))

    def _append(self, sid: str, texts: list[str]) -> None:
        for attempt in range(MAX_ATTEMPTS):
            etag, head = self._view(sid)
            entries: dict[str, Any] = {}
            for n, text in enumerate(texts, start=head["next"]):
                entries[item_key(n)] = self._encode(sid, n, text)
            entries[HEAD] = {"first": head["first"], "next": head["next"] + len(texts)}
            if any("j" not in v for k, v in entries.items() if k != HEAD):
                # storing an artifact moved the etag: take it again, keeping the items if the
                # head did not move meanwhile (it is the head that names the artifacts)
                etag, now = self._view(sid, fresh=True)
                if now != head:
                    continue
            newest = entries[item_key(head["next"] + len(texts) - 1)]
            if self._guarded(sid, entries, [], etag, newest, last=attempt == MAX_ATTEMPTS - 1):
                return

    def _guarded(
        self,
        sid: str,
        entries: dict[str, Any],
        delete_keys: list[str],
        etag: str,
        newest: dict[str, Any] | None,
        *,
        last: bool,
    ) -> bool:
        """One ApplyChanges guarded by etag (``newest``: the newest item's value after it); False
        (view dropped) when the etag was stale, or the error on the ``last`` attempt."""
        try:
            applied = self.backend.apply_changes(sid, entries, delete_keys, etag=etag)
        except EtagMismatch:
            self._views.pop(sid, None)
            if last:
                raise
            return False
        self._views[sid] = View(applied.session.etag, entries[HEAD], newest)
        return True

    def pop_item_sync(self) -> Any | None:
        with self._lock:
            if self.directory.find(self.session_id) is None:
                return None
            return self.directory.write(self.session_id, self._pop)

    def _pop(self, sid: str) -> Any | None:
        view = self._views.get(sid)
        if view is not None and view.newest is not None and view.head["next"] > view.head["first"]:
            # the newest item is known as of this etag (just written or read): one ApplyChanges
            done, item = self._pop_known(sid, view.etag, view.head, view.newest, last=False)
            if done:
                return item
        for attempt in range(MAX_ATTEMPTS):
            read = self._read(sid, 1)
            head = self._remember(sid, read)
            if head["next"] <= head["first"]:
                return None
            stored = dict(read.entries).get(item_key(head["next"] - 1))
            done, item = self._pop_known(sid, read.session.etag, head, stored, last=attempt == MAX_ATTEMPTS - 1)
            if done:
                return item
        return None  # unreachable: the last attempt raises

    def _pop_known(
        self, sid: str, etag: str, head: dict[str, int], stored: dict[str, Any] | None, *, last: bool
    ) -> tuple[bool, Any | None]:
        """Deletes the newest item, whose value as of ``etag`` is ``stored``: (False, None) when
        the etag was stale, else (True, the item or None when it was missing)."""
        entries = {HEAD: {"first": head["first"], "next": head["next"] - 1}}
        if not self._guarded(sid, entries, [item_key(head["next"] - 1)], etag, None, last=last):
            return False, None
        if stored is None:
            return True, None
        item = self._decode(sid, stored)
        self.codec.release(sid, stored)
        return True, item

    def clear_session_sync(self) -> None:
        with self._lock:
            if self.directory.find(self.session_id) is not None:
                self.directory.write(self.session_id, self._clear)

    def _clear(self, sid: str) -> None:
        head, stored = self._newest(sid, None)
        keys = [item_key(n) for n in range(head["first"], head["next"])]
        for _, value in stored:
            self.codec.release(sid, value)
        self._views.pop(sid, None)  # the artifacts released moved the etag
        for start in range(0, max(len(keys), 1), 1000):
            entries = {HEAD: {"first": head["next"], "next": head["next"]}} if start == 0 else {}
            applied = self.backend.apply_changes(sid, entries, keys[start : start + 1000])
        self._views[sid] = View(applied.session.etag, {"first": head["next"], "next": head["next"]})

    # -- the cached view --------------------------------------------------------------------------

    def _view(self, sid: str, *, fresh: bool = False) -> tuple[str, dict[str, int]]:
        """(etag, head) as last seen, or read now (one ReadSession of the head alone)."""
        view = None if fresh else self._views.get(sid)
        if view is None:
            read = self.backend.read_session(sid, state_keys=[HEAD])
            return read.session.etag, self._remember(sid, read)
        return view.etag, view.head

    def _remember(self, sid: str, read: SessionRead) -> dict[str, int]:
        stored = read.state.get(HEAD)
        if not isinstance(stored, dict):
            stored = empty_head()
        head = {"first": int(stored["first"]), "next": int(stored["next"])}
        # entries come newest first (a reverse scan): the first is the newest item if it is live
        newest = read.entries[0] if read.entries else None
        value = newest[1] if newest and newest[0] == item_key(head["next"] - 1) else None
        self._views[sid] = View(read.session.etag, head, value if isinstance(value, dict) else None)
        return head

    def _encode(self, sid: str, n: int, text: str) -> dict[str, Any]:
        data = text.encode()
        if len(data) <= self.codec.inline_limit:
            return {"j": text}
        return self.codec.encode(sid, f"openai-agents/{item_key(n)}", "json", data)

    def _decode(self, sid: str, value: dict[str, Any]) -> Any:
        if "j" in value:
            return json.loads(value["j"])
        return json.loads(self.codec.decode(sid, value)[1])
