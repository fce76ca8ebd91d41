"""Client subcommands of the command line: parse arguments, make one client call, print the result."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from .cli import emit, parse_state


def _client(args: argparse.Namespace) -> Any:
    from .client import SessionClient

    return SessionClient(args.target or "", token=args.token or "")


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", help="server HOST:PORT (default $LLMSPELL_SESSION_ADDRESS or 127.0.0.1:50051)")
    parser.add_argument("--token", help="bearer token (default $LLMSPELL_SESSION_TOKEN)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def _command(
    group: Any,
    name: str,
    help_text: str,
    call: Any,
    *arguments: tuple[tuple[str, ...], dict],
    columns: Sequence[str] | None = None,
) -> None:
    """Adds a subcommand that makes one client call and prints its result (in these table columns)."""
    parser = group.add_parser(name, help=help_text)
    _common(parser)
    for flags, options in arguments:
        parser.add_argument(*flags, **options)

    def run(args: argparse.Namespace) -> int:
        with _client(args) as client:
            emit(call(client, args), args.json, columns)
        return 0

    parser.set_defaults(run=run)


SID = (("session_id",), {"help": "the session id"})
ETAG = (("--etag",), {"default": "", "help": "fail with ABORTED unless this is the current etag"})


def add_client_commands(commands: Any) -> None:
    session = commands.add_parser("session", help="create, inspect and change sessions").add_subparsers(
        title="session commands", required=True
    )
    _command(
        session,
        "create",
        "create a session",
        lambda c, a: c.new_session(a.name, a.description, a.tag, a.metadata, a.parent, a.request_id),
        (("--name",), {"default": ""}),
        (("--description",), {"default": ""}),
        (("--tag",), {"action": "append", "default": [], "help": "repeat for several"}),
        (("--metadata",), {"type": _json_object, "default": None, "help": "a JSON object"}),
        (("--parent",), {"default": "", "help": "parent session id"}),
        (("--request-id",), {"default": "", "help": "idempotency key"}),
    )
    _command(session, "get", "show a session", lambda c, a: c.get_session(a.session_id), SID)
    _command(
        session,
        "list",
        "list sessions",
        lambda c, a: (
            c.list_sessions(
                a.page_size, a.page_token, a.state, a.tag, a.parent, a.created_by, search=a.search, order_by=a.order_by
            ).items
        ),
        (("--state",), {"action": "append", "type": parse_state, "default": []}),
        (("--tag",), {"action": "append", "default": []}),
        (("--parent",), {"default": ""}),
        (("--created-by",), {"default": ""}),
        (("--search",), {"default": ""}),
        (("--order-by",), {"default": ""}),
        (("--page-size",), {"type": int, "default": 50}),
        (("--page-token",), {"default": ""}),
    )
    _command(
        session,
        "update",
        "change name, description, tags or metadata",
        lambda c, a: c.update_session(
            a.session_id, name=a.name, description=a.description, tags=a.tag, metadata=a.metadata, etag=a.etag
        ),
        SID,
        (("--name",), {}),
        (("--description",), {}),
        (("--tag",), {"action": "append"}),
        (("--metadata",), {"type": _json_object}),
        ETAG,
    )
    for verb in ("suspend", "resume", "complete", "archive"):
        _command(
            session,
            verb,
            f"{verb} a session",
            lambda c, a, verb=verb: getattr(c, f"{verb}_session")(a.session_id, etag=a.etag),
            SID,
            ETAG,
        )
    _command(
        session,
        "fail",
        "fail a session with a reason",
        lambda c, a: c.fail_session(a.session_id, a.reason, etag=a.etag),
        SID,
        (("--reason",), {"default": ""}),
        ETAG,
    )
    _command(
        session,
        "delete",
        "delete a session and everything in it",
        lambda c, a: c.delete_session(a.session_id, etag=a.etag),
        SID,
        ETAG,
    )
    _command(session, "save", "make a session durable on disk", lambda c, a: c.save_session(a.session_id), SID)
    _command(session, "load", "a session with its state and artifacts", lambda c, a: c.load_session(a.session_id), SID)

    _command(
        session,
        "grant",
        "let another subject read or write a session (admins)",
        lambda c, a: c.grant_session_access(a.session_id, a.subject, a.access),
        SID,
        (("subject",), {}),
        (("--access",), {"choices": ["read", "write"], "default": "read"}),
    )
    _command(
        session,
        "revoke",
        "take a subject's access back (admins)",
        lambda c, a: c.revoke_session_access(a.session_id, a.subject),
        SID,
        (("subject",), {}),
    )

    state = commands.add_parser("state", help="read and change a session's key-value state").add_subparsers(
        title="state commands", required=True
    )
    _command(
        state,
        "get",
        "show state values",
        lambda c, a: c.get_session_state(a.session_id, a.key),
        SID,
        (("key",), {"nargs": "*", "help": "keys to show (default all)"}),
    )
    _command(
        state,
        "set",
        "set KEY=JSON values and delete keys",
        lambda c, a: c.set_session_state(a.session_id, dict(a.entry), a.delete, etag=a.etag),
        SID,
        (("entry",), {"nargs": "*", "type": _entry, "help": "KEY=JSON (a bare word is a string)"}),
        (("--delete",), {"action": "append", "default": []}),
        ETAG,
    )


def _entry(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError("expected KEY=JSON")
    try:
        return key, json.loads(raw)
    except json.JSONDecodeError:
        return key, raw
