"""`session bulk ACTION`: complete, fail, archive or delete the sessions a filter selects, or show
what would happen (--dry-run); a page at a time, or every page with --all."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from ..model import BULK_ACTIONS, BulkResult
from .common import UsageError, client, subcommand
from .output import emit, print_table

RATE_LIMITED_PAUSE = 1.0  # seconds --all waits when the server's rate limit ended a page
DONE = {"complete": "completed", "fail": "failed", "archive": "archived", "delete": "deleted"}


def add_bulk_command(session: Any, filter_flags: tuple[Any, ...]) -> None:
    """Adds `session bulk` to the session commands, with `session list`'s filter_flags."""
    subcommand(
        session,
        "bulk",
        "complete, fail, archive or delete every session a filter selects (--dry-run to preview)",
        (("action",), {"choices": BULK_ACTIONS}),
        *filter_flags,
        (("--every-session",), {"action": "store_true", "help": "no filter: every session you may see"}),
        (("--reason",), {"default": "", "help": "the failure reason (fail only)"}),
        (("--dry-run",), {"action": "store_true", "help": "show what would change; change nothing"}),
        (("--page-size",), {"type": int, "default": 0, "help": "sessions per call (0: the server's 100)"}),
        (("--page-token",), {"default": "", "help": "continue from the run that printed this token"}),
        (("--all",), {"action": "store_true", "help": "every page, not just the first"}),
    ).set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    selection = {
        "states": args.state,
        "tags": args.tag,
        "parent_session_id": args.parent,
        "created_by": args.created_by,
        "search": args.search,
    }
    if not any(selection.values()) and not args.every_session:
        raise UsageError(
            "session bulk: give a filter (--state, --tag, --parent, --created-by, --search) "
            "or --every-session to act on every session you may see"
        )
    if args.reason and args.action != "fail":
        raise UsageError("session bulk: --reason is for the fail action only")
    total = BulkResult()
    token = args.page_token
    with client(args) as connection:
        while True:
            page = connection.bulk_session_action(
                args.action,
                reason=args.reason,
                dry_run=args.dry_run,
                page_size=args.page_size,
                page_token=token,
                **selection,
            )
            total.changed += page.changed
            total.skipped += page.skipped
            total.total_size = page.total_size
            token = page.next_page_token
            if not token or not args.all:
                break
            if page.skipped and page.skipped[-1].reason == "RATE_LIMITED":
                time.sleep(RATE_LIMITED_PAUSE)
    total.next_page_token = token
    _report(args, total)
    return 0


def _report(args: argparse.Namespace, result: BulkResult) -> None:
    verb = f"would be {DONE[args.action]}" if args.dry_run else DONE[args.action]
    if args.json:
        emit(
            {
                "action": args.action,
                "dry_run": args.dry_run,
                "matched": result.matched,
                "changed": result.changed,
                "skipped": result.skipped,
                "total_size": result.total_size,
                "next_page_token": result.next_page_token,
            },
            True,
        )
    else:
        rows = [{"session_id": sid, "result": verb, "reason": ""} for sid in result.changed]
        rows += [
            {"session_id": s.session_id, "result": "skipped", "reason": f"{s.reason}: {s.message}"}
            for s in result.skipped
        ]
        if rows:
            print_table(rows, ("session_id", "result", "reason"))
        print(
            f"{len(result.changed)} {verb}, {len(result.skipped)} skipped "
            f"({result.matched} matched; {result.total_size} matched the filter when the run began)",
            file=sys.stderr,
        )
    if result.next_page_token:
        print(f"more: --page-token {result.next_page_token}", file=sys.stderr)
