"""LlmspellSaver: a LangGraph checkpointer over llmspell sessions, embedded or remote.

A thread is a session (tag ``langgraph:<hash of thread_id>``); its namespaces, checkpoints (with
their channel values) and pending writes are state entries (see ``_layout``), so put, put_writes,
get_tuple and each page of list are one call; values over ``inline_limit`` bytes are artifacts.
Every put is one ``state.changed`` event, so the session's log is the thread's history, and
``copy_thread`` onto a new thread is a ``fork_session`` (nothing copied).
"""

from __future__ import annotations

import asyncio
import base64
import builtins
import functools
import itertools
import random
import threading
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    SerializerProtocol,
    get_checkpoint_id,
    get_checkpoint_metadata,
    writes_sort_key,
)

from ...errors import SessionNotFound
from .._backend import SessionBackend
from .._blobs import INLINE_LIMIT, BlobCodec
from .._directory import SessionDirectory
from ._thread import Stored, ThreadStore

FRAMEWORK = "langgraph"


class LlmspellSaver(BaseCheckpointSaver[str]):
    """A ``BaseCheckpointSaver`` storing each thread in one llmspell session.

    ``backend`` is a ``SessionManager`` (in-process) or a ``SessionClient`` (gRPC). Async methods
    run the blocking ones in a worker thread. ``max_active_threads`` caps how many thread sessions
    this saver keeps ACTIVE (it suspends the least recently written one); without it, the saver
    still suspends its least recent thread when the store's ``max_sessions`` is reached.
    """

    def __init__(
        self,
        backend: SessionBackend,
        *,
        serde: SerializerProtocol | None = None,
        inline_limit: int = INLINE_LIMIT,
        max_active_threads: int | None = None,
    ) -> None:
        super().__init__(serde=serde)
        self.backend = backend
        self.directory = SessionDirectory(backend, FRAMEWORK, max_active=max_active_threads)
        self.codec = BlobCodec(backend, inline_limit)
        self._locks: dict[str, threading.RLock] = {}

    def _lock(self, thread_id: str) -> threading.RLock:
        return self._locks.setdefault(str(thread_id), threading.RLock())

    def _store(self, session_id: str) -> ThreadStore:
        return ThreadStore(self.backend, self.codec, session_id)

    def _reading(self, thread_id: str) -> ThreadStore | None:
        sid = self.directory.find(str(thread_id))
        return self._store(sid) if sid is not None else None

    # -- writes -----------------------------------------------------------------------------

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Stores a checkpoint with its channel values (one call); returns its config."""
        conf = config["configurable"]
        thread_id, checkpoint_ns = str(conf["thread_id"]), conf.get("checkpoint_ns", "")
        body = {k: v for k, v in checkpoint.items() if k != "channel_values"}
        full_metadata = get_checkpoint_metadata(config, metadata)
        record = {
            "id": checkpoint["id"],
            "c": self._dump(body),
            "m": self._dump(full_metadata),
            "p": conf.get("checkpoint_id") or "",
            "r": str(full_metadata.get("run_id") or ""),
        }
        values = {ch: self.serde.dumps_typed(v) for ch, v in checkpoint["channel_values"].items()}
        with self._lock(thread_id):
            self.directory.write(thread_id, lambda sid: self._store(sid).put(checkpoint_ns, dict(record), values))
        return {
            "configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns, "checkpoint_id": checkpoint["id"]}
        }

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        """Stores a task's writes against a checkpoint; a repeated (task, index) is not stored twice."""
        conf = config["configurable"]
        thread_id, checkpoint_ns = str(conf["thread_id"]), conf.get("checkpoint_ns", "")
        items = [
            (task_id, WRITES_IDX_MAP.get(channel, idx), channel, self.serde.dumps_typed(value), task_path)
            for idx, (channel, value) in enumerate(writes)
        ]
        with self._lock(thread_id):
            self.directory.write(
                thread_id, lambda sid: self._store(sid).put_writes(checkpoint_ns, conf["checkpoint_id"], items)
            )

    def delete_thread(self, thread_id: str) -> None:
        """Deletes the thread's session (every namespace, checkpoint, write and value)."""
        with self._lock(thread_id):
            self.directory.delete(str(thread_id))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        """Copies every checkpoint and write: a fork when the target is new, else a merge."""
        source = self._reading(source_thread_id)
        if source is None:
            return
        target = str(target_thread_id)
        with self._lock(target):
            if self.directory.find(target) is None:
                self._fork(source.sid, target)
            else:
                self.directory.write(target, lambda sid: self._merge(source, self._store(sid)))

    def _fork(self, source_sid: str, target: str) -> None:
        self.directory.fork_as(source_sid, target)

    def _merge(self, source: ThreadStore, target: ThreadStore) -> None:
        for checkpoint_ns in source.namespaces().values():
            for stored in source.checkpoints(checkpoint_ns):
                target.copy(checkpoint_ns, stored, source)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        """Deletes the checkpoints (and their writes) of these runs, in every thread."""
        wanted = {str(r) for r in run_ids}
        if not wanted:
            return
        for thread_id, sid in list(self.directory.keys()):
            store = self._store(sid)
            for checkpoint_ns in store.namespaces().values():
                doomed = {s.record["id"] for s in store.checkpoints(checkpoint_ns) if s.record.get("r") in wanted}
                if doomed:
                    with self._lock(thread_id):
                        self.directory.write(thread_id, functools.partial(self._remove, checkpoint_ns, doomed))

    def _remove(self, checkpoint_ns: str, doomed: set[str], session_id: str) -> None:
        self._store(session_id).remove(checkpoint_ns, doomed)

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        """``keep_latest`` keeps the newest checkpoint of each namespace; ``delete`` deletes the threads."""
        if strategy not in ("keep_latest", "delete"):
            raise ValueError(f"unknown prune strategy {strategy!r}")
        for thread_id in thread_ids:
            if strategy == "delete":
                self.delete_thread(thread_id)
                continue
            store = self._reading(thread_id)
            if store is None:
                continue
            for checkpoint_ns in store.namespaces().values():
                doomed = {stored.record["id"] for stored in itertools.islice(store.checkpoints(checkpoint_ns), 1, None)}
                if doomed:
                    with self._lock(thread_id):
                        self.directory.write(str(thread_id), functools.partial(self._remove, checkpoint_ns, doomed))

    # -- reads ------------------------------------------------------------------------------

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        """The checkpoint the config names, or the thread's newest in its namespace."""
        conf = config["configurable"]
        thread_id, checkpoint_ns = str(conf["thread_id"]), conf.get("checkpoint_ns", "")
        store = self._reading(thread_id)
        if store is None:
            return None
        cid = get_checkpoint_id(config)
        try:
            if cid:
                found = store.checkpoint(checkpoint_ns, cid)
            else:
                found = next(store.checkpoints(checkpoint_ns, limit=1), None)
        except SessionNotFound:
            self.directory.forget(thread_id)
            return None
        return self._tuple(store, thread_id, checkpoint_ns, found) if found else None

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,  # noqa: A002 - the base class's name
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        """Checkpoints newest first, by thread and namespace, metadata filter, ``before`` and ``limit``."""
        conf = (config or {}).get("configurable", {})
        before_id = get_checkpoint_id(before) if before else None
        threads = [(str(conf["thread_id"]), None)] if "thread_id" in conf else list(self.directory.keys())
        remaining = limit
        for thread_id, sid in threads:
            store = self._reading(thread_id) if sid is None else self._store(sid)
            if store is None:
                continue
            for checkpoint_ns in self._namespaces(store, conf.get("checkpoint_ns")):
                if conf.get("checkpoint_id"):
                    one = store.checkpoint(checkpoint_ns, conf["checkpoint_id"])
                    found: Iterable[Stored] = [one] if one and (not before_id or one.record["id"] < before_id) else []
                else:
                    found = store.checkpoints(checkpoint_ns, before_id, remaining)
                for stored in found:
                    if remaining is not None and remaining <= 0:
                        return
                    metadata = self.serde.loads_typed(store.decode(stored.record["m"]))
                    if filter and not all(metadata.get(k) == v for k, v in filter.items()):
                        continue
                    if remaining is not None:
                        remaining -= 1
                    yield self._tuple(store, thread_id, checkpoint_ns, stored, metadata)

    @staticmethod
    def _namespaces(store: ThreadStore, checkpoint_ns: str | None) -> builtins.list[str]:
        if checkpoint_ns is not None:
            return [checkpoint_ns]
        return sorted(store.namespaces().values())

    def _tuple(
        self,
        store: ThreadStore,
        thread_id: str,
        checkpoint_ns: str,
        stored: Stored,
        metadata: CheckpointMetadata | None = None,
    ) -> CheckpointTuple:
        record = stored.record
        checkpoint = self.serde.loads_typed(store.decode(record["c"]))
        values = record.get("cv", {})
        checkpoint["channel_values"] = {ch: self.serde.loads_typed(store.decode(v)) for ch, v in values.items()}
        ordered = sorted(stored.writes.values(), key=lambda w: writes_sort_key(w[3], w[0], w[4]))
        pending = [(w[0], w[1], self.serde.loads_typed(store.decode(w[2]))) for w in ordered]
        parent = record.get("p") or None

        def conf(checkpoint_id: str) -> RunnableConfig:
            return {
                "configurable": {"thread_id": thread_id, "checkpoint_ns": checkpoint_ns, "checkpoint_id": checkpoint_id}
            }

        return CheckpointTuple(
            config=conf(record["id"]),
            checkpoint=checkpoint,
            metadata=metadata if metadata is not None else self.serde.loads_typed(store.decode(record["m"])),
            parent_config=conf(parent) if parent else None,
            pending_writes=pending,
        )

    def _dump(self, obj: Any) -> dict[str, Any]:
        """A checkpoint or metadata body, inline whatever its size: it is read with its record."""
        kind, data = self.serde.dumps_typed(obj)
        return {"t": kind, "b": base64.b64encode(data).decode()}

    def get_next_version(self, current: str | None, channel: None) -> str:
        """Monotonic string versions with a random tail, as LangGraph's own savers use."""
        if current is None:
            number = 0
        elif isinstance(current, int):
            number = current
        else:
            number = int(str(current).split(".")[0])
        return f"{number + 1:032}.{random.random():016}"

    # -- async: the blocking methods in a worker thread ---------------------------------------

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await asyncio.to_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,  # noqa: A002
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        items = await asyncio.to_thread(lambda: list(self.list(config, filter=filter, before=before, limit=limit)))
        for item in items:
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await asyncio.to_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        await asyncio.to_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await asyncio.to_thread(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await asyncio.to_thread(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        await asyncio.to_thread(self.prune, thread_ids, strategy=strategy)
