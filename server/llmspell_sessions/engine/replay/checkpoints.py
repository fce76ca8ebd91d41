"""Checkpoints: named points in a session's history, each with a materialised snapshot.

Automatic checkpoints (every ``auto_checkpoint_every`` events) are a cache of snapshots, not
mutations: they are stored after the commit without an event (label "auto"), so they never change
a session's etag or last seq behind a client's back (AppendEvents with expected_last_seq stays
predictable) and cannot recurse. A lost one (crash right after a commit) only makes GetSnapshot
replay a few more events. Checkpoints made by CreateCheckpoint append ``checkpoint.created``.
"""

from __future__ import annotations

import logging

from ...errors import InvalidArgument
from ...model import Caller, Checkpoint, Event, EventSpec, Page, Session
from ...storage import Storage, WriteBatch
from .. import validation
from ..admission import READ, WRITE
from ..codec import clone_session
from ..ids import uuid7
from ..paging import decode_token, encode_token, query_fingerprint
from ..sessions import require_writable
from ..unit_of_work import Units
from . import store
from .timetravel import TimeTravel

log = logging.getLogger(__name__)
AUTO_LABEL = "auto"
DEFAULT_CHECKPOINT_PAGE = 50
MAX_LABEL_BYTES = 256


class Checkpoints:
    """CreateCheckpoint, ListCheckpoints, and the automatic checkpoints (a commit listener)."""

    def __init__(self, units: Units, storage: Storage, timetravel: TimeTravel, auto_every: int) -> None:
        self._units = units
        self._storage = storage
        self._timetravel = timetravel
        self._auto_every = auto_every

    def create(self, c: Caller, session_id: str, label: str) -> Checkpoint:
        """Appends checkpoint.created and stores the snapshot at it; ARCHIVED sessions are read-only."""
        label = validation.text(label, "label", max_bytes=MAX_LABEL_BYTES)
        with self._units.begin(c) as uow:
            skey, before = uow.session(session_id, WRITE)
            require_writable(before)
            base = self._timetravel.materialise(skey, session_id, before.last_event_seq)
            checkpoint = Checkpoint(uuid7(), session_id, before.last_event_seq + 1, label, uow.time)
            store.put_checkpoint(uow.batch, skey, checkpoint, base)
            spec = EventSpec("checkpoint.created", {"checkpoint_id": checkpoint.checkpoint_id, "label": label})
            uow.record(skey, before, clone_session(before), [spec], operation="create_checkpoint")
            uow.commit()
            return checkpoint

    def list(self, c: Caller, session_id: str, page_size: int, page_token: str) -> Page:
        """One page of the session's checkpoints (automatic ones included), oldest first."""
        size = validation.page_size(page_size, DEFAULT_CHECKPOINT_PAGE)
        skey, _ = self._units.read_session(c, session_id, READ)
        fingerprint = query_fingerprint(["checkpoints", c.tenant, session_id])
        after_key = decode_token(page_token, fingerprint)[0] if page_token else b""
        if after_key and not after_key.startswith(skey):
            raise InvalidArgument("page_token does not fit this query", field="page_token")
        found: list[Checkpoint] = []
        last_key = b""
        for key, checkpoint in store.scan_checkpoints(self._storage, skey, session_id, after_key):
            if len(found) == size:
                return Page(found, encode_token(last_key, 0, fingerprint))
            found.append(checkpoint)
            last_key = key
        return Page(found, "")

    # -- CommitListener: the automatic checkpoints ----------------------------------------------------

    def committed(self, tenant: str, skey: bytes, session: Session, event: Event) -> None:
        every = self._auto_every
        # checkpoint.created already stored a snapshot one event back: no second one
        if every and event.seq % every == 0 and event.type != "checkpoint.created":
            try:
                self._auto_checkpoint(skey, event)
            except Exception:  # a cache entry: the committed write stands without it
                log.exception("automatic checkpoint of %s at %d failed", event.session_id, event.seq)

    def deleted(self, tenant: str, session_id: str) -> None:
        """Nothing to do: the session's checkpoints went with it."""

    def _auto_checkpoint(self, skey: bytes, event: Event) -> None:
        # Under the session's lock: a delete on another server cannot slip in between the check and
        # the write and leave a checkpoint of a session that is gone.
        with self._storage.transaction():
            self._storage.lock((("sessions", skey),))
            if self._storage.get("sessions", skey) is None or store.has_snapshot_at(self._storage, skey, event.seq):
                return
            snapshot = self._timetravel.materialise(skey, event.session_id, event.seq)
            checkpoint = Checkpoint(uuid7(), event.session_id, event.seq, AUTO_LABEL, event.time)
            batch = WriteBatch()  # a cache entry, not a mutation: written on its own, without an event
            store.put_checkpoint(batch, skey, checkpoint, snapshot)
            self._storage.write(batch)
