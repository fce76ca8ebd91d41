"""Session and state subcommands: parse arguments, make one client call, print the result."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

from .._pb import common_pb2
from ..model import SessionState
from .bulk import add_bulk_command
from .common import Call, UsageError, client, command, json_object, list_command, subcommand
from .output import ARTIFACT_COLUMNS, SESSION_COLUMNS, emit, plain, print_record, print_table, print_values

SID = (("session_id",), {"help": "the session id"})
ETAG = (("--etag",), {"default": "", "help": "fail with ABORTED unless this is the current etag"})
# The fields a Session message carries: a record decoded from the wire has defaults in the others.
WIRE_FIELDS = frozenset(common_pb2.Session.DESCRIPTOR.fields_by_name)


def session_view(session: Any) -> dict[str, Any]:
    """A session's fields as the server sent them (fields the wire does not carry are left out)."""
    return {k: v for k, v in plain(session).items() if k in WIRE_FIELDS}


def _load(args: argparse.Namespace) -> int:
    """`session load`: the record, then the state, then the latest artifacts (one JSON object with --json)."""
    with client(args) as connection:
        loaded = connection.load_session(args.session_id)
    session = session_view(loaded.session)
    if args.json:
        emit({"session": session, "state": loaded.state, "artifacts": loaded.artifacts}, True)
        return 0
    print_record(session)
    print("\nSTATE" if loaded.state else "\nSTATE (empty)")
    print_values(loaded.state)
    print("\nARTIFACTS" if loaded.artifacts else "\nARTIFACTS (none)")
    if loaded.artifacts:
        print_table(plain(loaded.artifacts), ARTIFACT_COLUMNS)
    return 0


def parse_state(name: str) -> SessionState:
    """An argparse type: a session state by name, any case."""
    try:
        return SessionState[name.upper()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"unknown state {name!r}") from None


# The filter flags of `session list` and `session bulk`, and what they select.
FILTER_FLAGS = (
    (("--state",), {"action": "append", "type": parse_state, "default": [], "help": "repeat for several"}),
    (("--tag",), {"action": "append", "default": [], "help": "sessions with all these tags"}),
    (("--parent",), {"default": "", "help": "children of this session"}),
    (("--created-by",), {"default": ""}),
    (("--search",), {"default": "", "help": "a case-insensitive part of the name or description"}),
)


def add_session_commands(commands: Any) -> None:
    """Adds `session ...` and `state get|set` to the command parser."""
    session = commands.add_parser("session", help="create, inspect and change sessions").add_subparsers(
        title="session commands", required=True
    )
    _add_create_and_list(session)
    _add_changes(session)
    _add_storage_and_access(session)
    add_bulk_command(session, FILTER_FLAGS)
    _add_state(commands)


def _add_create_and_list(session: Any) -> None:
    command(
        session,
        "create",
        "create a session",
        lambda c, a: session_view(c.new_session(a.name, a.description, a.tag, a.metadata, a.parent, a.request_id)),
        (("--name",), {"default": ""}),
        (("--description",), {"default": ""}),
        (("--tag",), {"action": "append", "default": [], "help": "repeat for several"}),
        (("--metadata",), {"type": json_object, "default": None, "help": "a JSON object"}),
        (("--parent",), {"default": "", "help": "parent session id"}),
        (("--request-id",), {"default": "", "help": "idempotency key"}),
    )
    command(session, "get", "show a session", lambda c, a: session_view(c.get_session(a.session_id)), SID)
    list_command(
        session,
        "list",
        "sessions",
        lambda c, a, token: c.list_sessions(
            a.page_size, token, a.state, a.tag, a.parent, a.created_by, search=a.search, order_by=a.order_by
        ),
        *FILTER_FLAGS,
        (("--order-by",), {"default": "", "help": "create_time desc (default), create_time, update_time desc, name"}),
        columns=SESSION_COLUMNS,
        page_size=50,
    )


def _add_changes(session: Any) -> None:
    command(
        session,
        "update",
        "change name, description, tags or metadata",
        lambda c, a: session_view(
            c.update_session(
                a.session_id, name=a.name, description=a.description, tags=a.tag, metadata=a.metadata, etag=a.etag
            )
        ),
        SID,
        (("--name",), {}),
        (("--description",), {}),
        (("--tag",), {"action": "append", "help": "the new tags; repeat for several"}),
        (("--metadata",), {"type": json_object, "help": "a JSON object"}),
        ETAG,
    )
    for verb in ("suspend", "resume", "complete", "archive"):
        command(
            session,
            verb,
            f"{verb} a session",
            _lifecycle(verb),
            SID,
            ETAG,
        )
    command(
        session,
        "fail",
        "fail a session with a reason",
        lambda c, a: session_view(c.fail_session(a.session_id, a.reason, etag=a.etag)),
        SID,
        (("--reason",), {"default": ""}),
        ETAG,
    )
    command(
        session,
        "delete",
        "delete a session and everything in it",
        lambda c, a: c.delete_session(a.session_id, etag=a.etag),
        SID,
        ETAG,
    )


def _add_storage_and_access(session: Any) -> None:
    command(
        session, "save", "make a session durable on disk", lambda c, a: session_view(c.save_session(a.session_id)), SID
    )
    subcommand(session, "load", "a session with its state and artifacts", SID).set_defaults(run=_load)
    command(
        session,
        "grant",
        "let another subject read or write a session (admins)",
        lambda c, a: session_view(c.grant_session_access(a.session_id, a.subject, a.access)),
        SID,
        (("subject",), {}),
        (("--access",), {"choices": ["read", "write"], "default": "read"}),
    )
    command(
        session,
        "revoke",
        "take a subject's access back (admins)",
        lambda c, a: session_view(c.revoke_session_access(a.session_id, a.subject)),
        SID,
        (("subject",), {}),
    )


def _lifecycle(verb: str) -> Call:
    """The call of `session VERB`: suspend, resume, complete or archive, printing the session."""

    def call(c: Any, a: argparse.Namespace) -> Any:
        return session_view(getattr(c, f"{verb}_session")(a.session_id, etag=a.etag))

    return call


def _add_state(commands: Any) -> None:
    state = commands.add_parser("state", help="read and change a session's key-value state").add_subparsers(
        title="state commands", required=True
    )
    subcommand(
        state, "get", "show state values", SID, (("key",), {"nargs": "*", "help": "keys to show (default all)"})
    ).set_defaults(run=_get_state)
    subcommand(
        state,
        "set",
        "set KEY=JSON values and delete keys; prints what changed",
        SID,
        (("entry",), {"nargs": "*", "type": _entry, "help": "KEY=JSON, e.g. turn=2 plan='{\"steps\": []}'"}),
        (("--string",), {"action": "store_true", "help": "take every value as a plain string, not JSON"}),
        (("--delete",), {"action": "append", "default": [], "metavar": "KEY", "help": "repeat for several"}),
        ETAG,
    ).set_defaults(run=_set_state, more_entries=[])


def _get_state(args: argparse.Namespace) -> int:
    with client(args) as connection:
        values = connection.get_session_state(args.session_id, args.key)
    if args.json:
        emit(values, True)
    else:
        print_values(values)
    return 0


def _set_state(args: argparse.Namespace) -> int:
    pairs = [*args.entry, *(_more_entry(text) for text in args.more_entries)]
    entries = {key: raw if args.string else _json_value(key, raw) for key, raw in pairs}
    if not entries and not args.delete:
        raise UsageError("state set: nothing to do: give KEY=JSON entries or --delete KEY")
    with client(args) as connection:
        session = connection.set_session_state(args.session_id, entries, args.delete, etag=args.etag)
    if args.json:
        emit({"set": entries, "deleted": args.delete, "etag": session.etag}, True)
        return 0
    print_values(entries)
    for key in args.delete:
        print(f"{key}  (deleted)")
    return 0


def _entry(text: str) -> tuple[str, str]:
    key, sep, raw = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=JSON, got {text!r}")
    return key, raw


def _more_entry(text: str) -> tuple[str, str]:
    if text.startswith("-"):
        raise UsageError(f"state set: unknown option {text} (see llmspell-sessions state set --help)")
    try:
        return _entry(text)
    except argparse.ArgumentTypeError as error:
        raise UsageError(f"state set: {error}") from None


def _json_value(key: str, raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        as_text = shlex.quote(f"{key}={json.dumps(raw, ensure_ascii=False)}")  # pastes back as the JSON string
        raise UsageError(
            f"state set: the value of {key} is not JSON: {raw!r} "
            f"(give a string as {as_text} or pass --string to store every value as text)"
        ) from None
