"""Admission: the one gate every operation passes before it touches storage.

Three questions, each answered here and nowhere else:
- may this caller do this kind of operation at all (role), and at this rate (tenant rate limit)?
- may this caller read or write this session (owner, admin, or a grant)? Asked by the unit of work
  and the readers whenever they hand a session to an operation, and again by open streams before
  each delivery, so a revoke applies at once;
- does this write keep every quota (counts and bytes per session and per tenant, active sessions)?
  Asked by the unit of work from the counters it is about to write, whichever path made them grow.

Tenancy needs no question: every key is built from the caller's tenant (keys.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..config import SessionManagerConfig
from ..errors import AccessDenied, RateLimited
from ..model import Caller, Role, Session
from .limits import VERIFICATIONS_PER_TENANT, Limits
from .policies import RateLimiter

SYSTEM_ACTOR = "system"
READ, WRITE = "read", "write"
LOCAL_CALLER = Caller()
audit_log = logging.getLogger("llmspell_sessions.audit")
_AUDIT_EVERY_SECONDS = 10.0
_AUDIT_KEYS = 10_000


def system_caller(tenant: str, correlation_id: str = "") -> Caller:
    """The engine acting on its own behalf (timeouts, maintenance) within a tenant."""
    return Caller(tenant=tenant, subject=SYSTEM_ACTOR, role=Role.ADMIN, correlation_id=correlation_id)


@dataclass(slots=True)
class Growth:
    """What one write adds, as the unit of work saw it: checked against the quotas before writing."""

    tenant: str
    active_sessions: int | None = None  # the tenant's new ACTIVE count, when it grew
    tenant_bytes: int | None = None  # live artifact bytes + staged bytes, when they grew


class Admission:
    """Roles, grants, rate limits and quotas."""

    def __init__(self, config: SessionManagerConfig, limits: Limits) -> None:
        self.limits = limits
        self._tenant_rate = RateLimiter(config.rate_limit_global, "rate_limit_global")
        self._session_rate = RateLimiter(config.rate_limit_per_session, "rate_limit_per_session")
        self._verifying: dict[str, int] = {}
        self._verifying_lock = threading.Lock()
        self._audited: dict[tuple[str, str, str], float] = {}

    # -- the caller -------------------------------------------------------------------------------

    def enter(self, caller: Caller | None, role: Role) -> Caller:
        """The caller of an operation needing role: its role, then its tenant's request rate."""
        c = caller if caller is not None else LOCAL_CALLER
        if c.role < role:
            raise AccessDenied(f"{role.name.lower()} role required", subject=c.subject, role=c.role.name)
        if c.subject != SYSTEM_ACTOR:
            self._tenant_rate.take(c.tenant, tenant=c.tenant)
        return c

    # -- sessions ---------------------------------------------------------------------------------

    @staticmethod
    def may(caller: Caller, session: Session, access: str) -> bool:
        """Admins, the owner and subjects granted access may; WRITE needs a write grant."""
        if caller.role >= Role.ADMIN or caller.subject == session.created_by:
            return True
        granted = session.grants.get(caller.subject)
        return granted == WRITE or (granted == READ and access == READ)

    def authorize(self, caller: Caller, session: Session, access: str) -> None:
        """AccessDenied unless the caller may; a denial is audited in the log, never in the session
        (an outsider must not be able to change its etag or timers by being refused)."""
        if self.may(caller, session, access):
            return
        self._audit_denial(caller, session.session_id, access)
        raise AccessDenied(
            f"{caller.subject} may not {access} session {session.session_id}",
            session_id=session.session_id,
            subject=caller.subject,
            access=access,
        )

    def _audit_denial(self, caller: Caller, session_id: str, access: str) -> None:
        key = (caller.tenant, caller.subject, session_id)
        now = time.monotonic()
        if now - self._audited.get(key, -_AUDIT_EVERY_SECONDS) < _AUDIT_EVERY_SECONDS:
            return  # one line per subject and session every few seconds: a refused flood is no log flood
        if len(self._audited) > _AUDIT_KEYS:
            self._audited.clear()
        self._audited[key] = now
        audit_log.warning(
            "access denied: %s may not %s session %s",
            caller.subject,
            access,
            session_id,
            extra={"tenant": caller.tenant, "subject": caller.subject, "session_id": session_id, "access": access},
        )

    def mutation(self, caller: Caller, skey: bytes, session_id: str) -> None:
        """The per-session mutation rate (the engine's own writes are not limited)."""
        if caller.subject != SYSTEM_ACTOR:
            self._session_rate.take(skey, session_id=session_id)

    # -- quotas -----------------------------------------------------------------------------------

    def check_session(self, before: Session | None, after: Session) -> None:
        """Per-session quotas, for what grew from before to after."""
        sid = after.session_id
        old_count, old_bytes = (before.artifact_count, before.artifact_bytes) if before else (0, 0)
        if after.artifact_count > old_count:
            self.limits.artifact_count(sid, after.artifact_count)
        if after.artifact_bytes > old_bytes:
            self.limits.session_bytes(sid, after.artifact_bytes)
        if after.state_bytes > (before.state_bytes if before else 0):
            self.limits.state_bytes(sid, after.state_bytes)

    def check_growth(self, growth: Growth) -> None:
        """Per-tenant quotas, for what grew."""
        if growth.active_sessions is not None:
            self.limits.active_sessions(growth.tenant, growth.active_sessions)
        if growth.tenant_bytes is not None:
            self.limits.tenant_bytes(growth.tenant, growth.tenant_bytes)

    # -- heavy work -------------------------------------------------------------------------------

    @contextmanager
    def verification(self, caller: Caller) -> Iterator[None]:
        """A slot for reading and hashing stored content on a caller's behalf; a tenant that holds
        all of its slots is told to retry rather than queue for worker threads others need."""
        with self._verifying_lock:
            running = self._verifying.get(caller.tenant, 0)
            if running >= VERIFICATIONS_PER_TENANT:
                raise RateLimited(
                    f"{running} content verifications of this tenant are running; retry shortly",
                    retry_delay=0.5,
                    limit="verifications_per_tenant",
                    tenant=caller.tenant,
                )
            self._verifying[caller.tenant] = running + 1
        try:
            yield
        finally:
            with self._verifying_lock:
                left = self._verifying[caller.tenant] - 1
                if left:
                    self._verifying[caller.tenant] = left
                else:
                    del self._verifying[caller.tenant]
