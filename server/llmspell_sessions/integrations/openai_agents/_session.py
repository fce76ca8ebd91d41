"""LlmspellSession: the Agents SDK ``Session`` protocol over one llmspell session.

An SDK session id is a session (tag ``openai-agents:<hash>``). Its items are state entries
``oa/i/<n>`` (the item's JSON text, exactly as ``SQLiteSession`` keeps it; items over the inline
limit go to an artifact) and ``oa/head`` = ``{"first": n, "next": n}`` bounds the live ones. Each
``add_items``, ``pop_item`` and ``clear_session`` is one atomic ``SetSessionState``, so the session's
event log holds one ``state.changed`` event per call with the items added or removed: the whole
conversation, pops and clears included, can be replayed or forked.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any

from agents.memory.session import SessionABC
from agents.memory.session_settings import SessionSettings, coerce_session_settings, resolve_session_limit

from .._backend import SessionBackend
from .._blobs import INLINE_LIMIT, BlobCodec
from .._directory import SessionDirectory

FRAMEWORK = "openai-agents"
HEAD = "oa/head"


def item_key(n: int) -> str:
    return f"oa/i/{n:012d}"


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
        if sid is None:
            return []
        head = self._head(sid)
        first = head["first"] if limit is None or limit < 0 else max(head["first"], head["next"] - limit)
        keys = [item_key(n) for n in range(first, head["next"])]
        stored = self.backend.get_session_state(sid, keys) if keys else {}
        return [self._decode(sid, stored[k]) for k in keys if k in stored]

    def add_items_sync(self, items: list[Any]) -> None:
        texts = [json.dumps(item) for item in items]  # fails before writing, as SQLiteSession does
        with self._lock:
            self.directory.write(self.session_id, lambda sid: self._append(sid, texts))

    def _append(self, sid: str, texts: list[str]) -> None:
        head = self._head(sid)
        entries: dict[str, Any] = {}
        for n, text in enumerate(texts, start=head["next"]):
            entries[item_key(n)] = self._encode(sid, n, text)
        entries[HEAD] = {"first": head["first"], "next": head["next"] + len(texts)}
        self.backend.set_session_state(sid, entries)

    def pop_item_sync(self) -> Any | None:
        with self._lock:
            if self.directory.find(self.session_id) is None:
                return None
            return self.directory.write(self.session_id, self._pop)

    def _pop(self, sid: str) -> Any | None:
        head = self._head(sid)
        if head["next"] <= head["first"]:
            return None
        last = item_key(head["next"] - 1)
        stored = self.backend.get_session_state(sid, [last]).get(last)
        self.backend.set_session_state(sid, {HEAD: {"first": head["first"], "next": head["next"] - 1}}, [last])
        if stored is None:
            return None
        item = self._decode(sid, stored)
        self.codec.release(sid, stored)
        return item

    def clear_session_sync(self) -> None:
        with self._lock:
            if self.directory.find(self.session_id) is not None:
                self.directory.write(self.session_id, self._clear)

    def _clear(self, sid: str) -> None:
        head = self._head(sid)
        keys = [item_key(n) for n in range(head["first"], head["next"])]
        for value in (self.backend.get_session_state(sid, keys) if keys else {}).values():
            self.codec.release(sid, value)
        for start in range(0, max(len(keys), 1), 1000):
            entries = {HEAD: {"first": head["next"], "next": head["next"]}} if start == 0 else {}
            self.backend.set_session_state(sid, entries, keys[start : start + 1000])

    # -- encoding -------------------------------------------------------------------------------

    def _head(self, sid: str) -> dict[str, int]:
        return self.backend.get_session_state(sid, [HEAD]).get(HEAD) or {"first": 0, "next": 0}

    def _encode(self, sid: str, n: int, text: str) -> dict[str, Any]:
        data = text.encode()
        if len(data) <= self.codec.inline_limit:
            return {"j": text}
        return self.codec.encode(sid, f"openai-agents/{item_key(n)}", "json", data)

    def _decode(self, sid: str, value: dict[str, Any]) -> Any:
        if "j" in value:
            return json.loads(value["j"])
        return json.loads(self.codec.decode(sid, value)[1])
