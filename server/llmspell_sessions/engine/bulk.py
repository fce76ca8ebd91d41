"""Bulk session actions: complete, fail, archive or delete the sessions a listing filter selects.

Each selected session goes through the operation its single call uses, after the same admission
(role, then the tenant's request rate): ``Sessions.transition`` or ``Sessions.delete``, so access,
the state machine, before-hooks, events, counters and after-hooks apply to each one as to a single
call. A session that operation refuses is skipped with the error's reason; the others go on. A dry
run makes the same calls in dry-run units of work, which check everything and write nothing.

Sessions are visited oldest first through the create-time index, whose keys never change, so a page
token continues right after the last session handled even when the action took earlier ones out of
the filter (or deleted them). A rate limit ends the page at the session it refused, and the token
continues from that session.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from ..errors import InvalidArgument, LlmspellError, RateLimited
from ..model import BULK_ACTIONS, BulkResult, BulkSkip, Caller, Role
from . import validation
from .listing import SessionListing
from .paging import decode_token, encode_token
from .sessions import Sessions

DEFAULT_PAGE, MAX_PAGE = 100, 1000
Enter = Callable[[Caller | None, Role], Caller]


class BulkActions:
    """Runs one action over one page of the sessions a filter selects."""

    def __init__(self, listing: SessionListing, sessions: Sessions, enter: Enter) -> None:
        self._listing = listing
        self._sessions = sessions
        self._enter = enter

    def run(
        self,
        c: Caller,
        action: str,
        selection: dict[str, Any],
        *,
        reason: str = "",
        dry_run: bool = False,
        page_size: int = 0,
        page_token: str = "",
    ) -> BulkResult:
        """One page: the action on up to page_size selected sessions (selection: list_sessions'
        filter arguments), with the token of the next page when more may match."""
        if action not in BULK_ACTIONS:
            raise InvalidArgument(f"action must be one of {list(BULK_ACTIONS)}", field="action")
        if reason and action != "fail":
            raise InvalidArgument("reason is for the fail action only", field="reason")
        reason = validation.text(reason, "reason", max_bytes=4096, single_line=False)
        size = validation.page_size(page_size, DEFAULT_PAGE, MAX_PAGE)
        query = self._listing.query(c, order_by="create_time", **selection)
        fingerprint = self._listing.fingerprint(c, query, "bulk", action, reason, dry_run)
        last_key, total = decode_token(page_token, fingerprint) if page_token else (b"", -1)
        result = BulkResult(total_size=total if total >= 0 else self._listing.total(c.tenant, query))
        # The page is read whole before the first change: the action may remove what the scan reads.
        selected = list(itertools.islice(self._listing.scan(c.tenant, query, last_key), size + 1))
        more = len(selected) > size
        for index_key, session in selected[:size]:
            try:
                self._act(c, action, session.session_id, reason, dry_run)
            except RateLimited as error:
                result.skipped.append(BulkSkip(session.session_id, error.reason, error.message))
                more = True  # the token continues from this session
                break
            except LlmspellError as error:
                result.skipped.append(BulkSkip(session.session_id, error.reason, error.message))
            else:
                result.changed.append(session.session_id)
            last_key = index_key
        if more:
            result.next_page_token = encode_token(last_key, result.total_size, fingerprint)
        return result

    def _act(self, caller: Caller, action: str, session_id: str, reason: str, dry_run: bool) -> None:
        """The single call's operation on one session, after the single call's admission."""
        c = self._enter(caller, Role.WRITER)
        if action == "delete":
            self._sessions.delete(c, session_id, "", dry_run=dry_run)
        else:
            self._sessions.transition(c, action, session_id, "", reason, dry_run=dry_run)
