"""What every client subcommand shares: the connection flags, one-call commands and paged listings."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ..model import Page
from .output import SESSION_COLUMNS, emit

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 50051
_SCHEMES = ("dns:", "unix:", "unix-abstract:", "ipv4:", "ipv6:", "vsock:")  # gRPC target URIs: left as given

Call = Callable[[Any, argparse.Namespace], Any]
Argument = tuple[tuple[str, ...], dict[str, Any]]


class UsageError(Exception):
    """A command line the CLI refuses before (or instead of) calling the server; exit code 2."""


def with_port(target: str) -> str:
    """The target with the default port 50051 when it names none (gRPC would dial 443)."""
    if target.startswith(_SCHEMES):
        return target
    if target.startswith("["):  # [v6]:port or [v6]
        return target if "]:" in target else f"{target}:{DEFAULT_PORT}"
    if target.count(":") > 1:  # a bare IPv6 address
        return f"[{target}]:{DEFAULT_PORT}"
    host, sep, port = target.partition(":")
    return target if sep and port else f"{host or DEFAULT_HOST}:{DEFAULT_PORT}"


def resolve_target(target: str | None) -> str:
    """--target, else $LLMSPELL_SESSION_ADDRESS, else 127.0.0.1:50051; with the default port added."""
    return with_port(target or os.environ.get("LLMSPELL_SESSION_ADDRESS") or f"{DEFAULT_HOST}:{DEFAULT_PORT}")


def client(args: argparse.Namespace) -> Any:
    """The blocking client for the command's --target and --token."""
    from ..client import SessionClient

    return SessionClient(resolve_target(args.target), token=args.token or "")


def json_object(text: str) -> dict[str, Any]:
    """An argparse type: a JSON object."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("expected a JSON object")
    return value


def add_common(parser: argparse.ArgumentParser) -> None:
    """--target, --token and --json."""
    parser.add_argument(
        "--target",
        help="server HOST[:PORT] (default $LLMSPELL_SESSION_ADDRESS or 127.0.0.1:50051; the port defaults to 50051)",
    )
    parser.add_argument("--token", help="bearer token (default $LLMSPELL_SESSION_TOKEN)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def subcommand(group: Any, name: str, help_text: str, *arguments: Argument) -> argparse.ArgumentParser:
    """A client subcommand with the common flags and these arguments."""
    parser: argparse.ArgumentParser = group.add_parser(name, help=help_text, description=help_text)
    add_common(parser)
    for flags, options in arguments:
        parser.add_argument(*flags, **options)
    return parser


def command(
    group: Any, name: str, help_text: str, call: Call, *arguments: Argument, columns: Sequence[str] = SESSION_COLUMNS
) -> None:
    """Adds a subcommand that makes one client call and prints its result (lists in these columns)."""

    def run(args: argparse.Namespace) -> int:
        with client(args) as connection:
            emit(call(connection, args), args.json, columns)
        return 0

    subcommand(group, name, help_text, *arguments).set_defaults(run=run)


def list_command(
    group: Any,
    name: str,
    what: str,
    fetch: Callable[[Any, argparse.Namespace, str], Page],
    *arguments: Argument,
    columns: Sequence[str],
    page_size: int = 0,
) -> None:
    """Adds a listing: one page (--page-token to go on, --all for every page), "no WHAT" when empty,
    and "more: --page-token X" on stderr when there are more pages."""
    paging = (
        (("--page-size",), {"type": int, "default": page_size, "help": "rows per page (0: the server's default)"}),
        (("--page-token",), {"default": "", "help": "continue from the listing that printed this token"}),
        (("--all",), {"action": "store_true", "help": "every page, not just the first"}),
    )

    def run(args: argparse.Namespace) -> int:
        with client(args) as connection:
            items, more = collect(lambda token: fetch(connection, args, token), args.page_token, args.all)
        if items or args.json:
            emit(items, args.json, columns)
        else:
            print(f"no {what}", file=sys.stderr)
        if more:
            print(f"more: --page-token {more}", file=sys.stderr)
        return 0

    subcommand(group, name, f"list {what}", *arguments, *paging).set_defaults(run=run)


def collect(fetch: Callable[[str], Page], token: str, every_page: bool) -> tuple[list[Any], str]:
    """The items of one page (or of every page) and the token of the next page ("" at the end)."""
    items: list[Any] = []
    while True:
        page = fetch(token)
        items.extend(page.items)
        token = page.next_page_token
        if not token or not every_page:
            return items, token
