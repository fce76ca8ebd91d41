"""Retention: sessions archived and deleted some time after they end, old artifact versions expired.

The policies are config (``retention_archive_after``, ``retention_delete_after``,
``retention_keep_versions``). Each maintenance pass visits at most ``BATCH`` session records,
continuing where the previous pass stopped, so a pass costs the same whatever the store's size and
every session is visited again after (sessions / BATCH) passes. Every change goes through the
operations users call (archive, delete, artifact deletion) as the tenant's system caller, so hooks,
events and quotas see them as any other write: an archive appends ``session.archived`` with reason
"retention" (the event before the data goes when deletion follows later), an expired version
``artifact.deleted`` with reason "retention"; a deletion is logged by the server
(``llmspell_sessions.retention``) and counted.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..config import SessionManagerConfig
from ..errors import LlmspellError
from ..model import Session, SessionState
from ..storage import Storage, keys
from .admission import system_caller
from .artifacts import ArtifactStore
from .codec import decode_session, now
from .sessions import Sessions

log = logging.getLogger("llmspell_sessions.retention")
BATCH = 1000
ENDED = (SessionState.COMPLETED, SessionState.FAILED, SessionState.ARCHIVED)


@dataclass(slots=True)
class RetentionReport:
    """What one pass did (or, as a dry run, would do): (tenant, session id[, artifact id]) each."""

    dry_run: bool = False
    archived: list[tuple[str, str]] = field(default_factory=list)
    deleted: list[tuple[str, str]] = field(default_factory=list)
    expired_versions: list[tuple[str, str, str]] = field(default_factory=list)
    visited: int = 0


class Retention:
    """Applies the retention policies over the store, a batch of sessions at a time."""

    def __init__(
        self, config: SessionManagerConfig, storage: Storage, sessions: Sessions, artifacts: ArtifactStore
    ) -> None:
        self._config = config
        self._storage = storage
        self._sessions = sessions
        self._artifacts = artifacts
        self._cursor: bytes | None = None  # the last session key visited
        self.totals = {"archived": 0, "deleted": 0, "expired_versions": 0}
        """What retention did since start (the server's metrics read them)."""

    @property
    def enabled(self) -> bool:
        c = self._config
        return bool(c.retention_archive_after or c.retention_delete_after or c.retention_keep_versions)

    def run(self, *, dry_run: bool = False, limit: int | None = BATCH) -> RetentionReport:
        """One pass over up to ``limit`` sessions (None: all of them, from the start)."""
        report = RetentionReport(dry_run=dry_run)
        start = None if limit is None or self._cursor is None else self._cursor + b"\x00"
        clock = now()
        batch = list(itertools.islice(self._storage.scan("sessions", b"", start=start), limit))  # then write
        for key, raw in batch:
            report.visited += 1
            try:
                self._apply(key, decode_session(raw), clock, report)
            except LlmspellError as error:  # changed meanwhile (deleted, resumed): the next pass sees it
                log.info("retention skipped %s: %s", key.decode(errors="replace"), error)
        last = batch[-1][0] if batch and limit is not None and len(batch) == limit else None
        if limit is not None and not dry_run:
            self._cursor = last  # None once the end is reached: the next pass starts over
        if not dry_run:
            self.totals["archived"] += len(report.archived)
            self.totals["deleted"] += len(report.deleted)
            self.totals["expired_versions"] += len(report.expired_versions)
        return report

    def _apply(self, key: bytes, session: Session, clock: datetime, report: RetentionReport) -> None:
        tenant, session_id = keys.split_session_key(key)
        caller = system_caller(tenant)
        ended = session.end_time
        c = self._config
        if ended is not None and session.state in ENDED:
            if c.retention_delete_after and clock - ended >= timedelta(seconds=c.retention_delete_after):
                report.deleted.append((tenant, session_id))
                if not report.dry_run:
                    self._sessions.delete(caller, session_id, "")
                    log.info("retention deleted session %s of tenant %s (ended %s)", session_id, tenant, ended)
                return
            archive_after = c.retention_archive_after
            if (
                archive_after
                and session.state != SessionState.ARCHIVED
                and clock - ended >= timedelta(seconds=archive_after)
            ):
                report.archived.append((tenant, session_id))
                if not report.dry_run:
                    self._sessions.transition(caller, "archive", session_id, "", "retention")
                return
        if c.retention_keep_versions and session.state != SessionState.ARCHIVED and session.artifact_count:
            expired = self._artifacts.expire_versions(
                caller, session_id, c.retention_keep_versions, dry_run=report.dry_run
            )
            report.expired_versions += [(tenant, session_id, a.artifact_id) for a in expired]
