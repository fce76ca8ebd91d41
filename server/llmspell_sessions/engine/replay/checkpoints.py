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
from ...model import Caller, Checkpoint, Event, Page, Role, Session
from ...storage import WriteBatch
from .. import validation
from ..codec import clone_session, now
from ..ids import uuid7
from ..paging import decode_token, encode_token, query_fingerprint
from . import store
from .timetravel import TimeTravelOps

log = logging.getLogger(__name__)
AUTO_LABEL = "auto"
DEFAULT_CHECKPOINT_PAGE = 50
MAX_LABEL_BYTES = 256


class CheckpointOps(TimeTravelOps):
    """CreateCheckpoint, ListCheckpoints and the automatic checkpoints."""

    def create_checkpoint(self, session_id: str, label: str = "", *, caller: Caller | None = None) -> Checkpoint:
        """Appends checkpoint.created and stores the snapshot at it; ARCHIVED sessions are read-only."""
        c = self._caller(caller)
        self.require(c, Role.WRITER)
        label = validation.text(label, "label", max_bytes=MAX_LABEL_BYTES)
        with self.lock:
            skey, before = self.fetch_current(c, session_id)
            self._require_writable(before)
            base = self.materialise(skey, session_id, before.last_event_seq)
            checkpoint = Checkpoint(uuid7(), session_id, before.last_event_seq + 1, label, now())
            batch = WriteBatch()
            store.put_checkpoint(batch, skey, checkpoint, base)
            payload = {"checkpoint_id": checkpoint.checkpoint_id, "label": label}
            after = clone_session(before)
            self.commit(
                c,
                skey,
                before,
                after,
                "checkpoint.created",
                payload,
                operation="create_checkpoint",
                batch=batch,
            )
            return checkpoint

    def list_checkpoints(
        self, session_id: str, page_size: int = 0, page_token: str = "", *, caller: Caller | None = None
    ) -> Page:
        """One page of the session's checkpoints (automatic ones included), oldest first."""
        c = self._caller(caller)
        self.require(c, Role.READER)
        size = validation.page_size(page_size, DEFAULT_CHECKPOINT_PAGE)
        skey, _ = self.fetch_current(c, session_id)
        fingerprint = query_fingerprint(["checkpoints", c.tenant, session_id])
        after_key = decode_token(page_token, fingerprint)[0] if page_token else b""
        if after_key and not after_key.startswith(skey):
            raise InvalidArgument("page_token does not fit this query", field="page_token")
        found: list[Checkpoint] = []
        last_key = b""
        for key, checkpoint in store.scan_checkpoints(self.storage, skey, session_id, after_key):
            if len(found) == size:
                return Page(found, encode_token(last_key, 0, fingerprint))
            found.append(checkpoint)
            last_key = key
        return Page(found, "")

    def after_commit(self, caller: Caller, skey: bytes, session: Session, event: Event) -> None:
        super().after_commit(caller, skey, session, event)
        every = self.config.auto_checkpoint_every
        # checkpoint.created already stored a snapshot one event back: no second one
        if every and event.seq % every == 0 and event.type != "checkpoint.created":
            try:
                self._auto_checkpoint(skey, event)
            except Exception:  # a cache entry: the committed write stands without it
                log.exception("automatic checkpoint of %s at %d failed", event.session_id, event.seq)

    def _auto_checkpoint(self, skey: bytes, event: Event) -> None:
        if store.has_snapshot_at(self.storage, skey, event.seq):
            return
        snapshot = self.materialise(skey, event.session_id, event.seq)
        checkpoint = Checkpoint(uuid7(), event.session_id, event.seq, AUTO_LABEL, event.time)
        batch = WriteBatch()
        store.put_checkpoint(batch, skey, checkpoint, snapshot)
        self.storage.write(batch)
