"""The command line's entry point: builds the parser and turns every failure into one line on stderr."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from ..errors import LlmspellError
from .common import UsageError, resolve_target
from .serve import AddressInUse

DESCRIPTION = (
    "llmspell-sessions: serve the session store (serve), check a store (check), "
    "or talk to a running server (every other command). Each command has its own --help."
)
DEBUG_ENV = "LLMSPELL_SESSION_DEBUG"  # set to 1 to see the traceback of an unexpected error
SERVER_STOPPING = "server shutting down"  # what a stopping server ends its calls with (rpc.interceptors)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line: the command, the problem, where to look."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> Parser:
    """Every subcommand of llmspell-sessions."""
    from .archive import add_archive_commands
    from .artifacts import add_artifact_commands
    from .history import add_replay_commands
    from .ops import add_ops_commands
    from .serve import add_store_commands
    from .sessions import add_session_commands

    parser = Parser(prog="llmspell-sessions", description=DESCRIPTION)
    commands = parser.add_subparsers(title="commands")
    add_store_commands(commands)
    add_session_commands(commands)
    add_artifact_commands(commands)
    add_replay_commands(commands)
    add_ops_commands(commands)
    add_archive_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command line; returns the exit code (0 ok, 1 failed, 2 usage, 130 interrupted)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not hasattr(args, "more_entries"):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if extra:  # `state set SID --string k=v`: argparse ends the KEY=JSON list at the first option
        args.more_entries = extra
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        code = int(args.run(args) or 0)
        sys.stdout.flush()  # here, so that a closed pipe is seen in the try and not at exit
        return code
    except BrokenPipeError:  # `... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if os.environ.get(DEBUG_ENV):
            raise
        print(f"error: {describe(error, args)}", file=sys.stderr)
        return 2 if isinstance(error, UsageError) else 1


def describe(error: Exception, args: argparse.Namespace) -> str:
    """One line that says what went wrong, in the user's terms."""
    if isinstance(error, UsageError | AddressInUse):
        text = str(error)
    elif isinstance(error, LlmspellError):
        text = _describe_service_error(error, args)
    elif isinstance(error, OSError) and error.strerror:
        text = f"{error.filename}: {error.strerror}" if error.filename else error.strerror
    else:
        text = f"unexpected {type(error).__name__}: {error} (set {DEBUG_ENV}=1 to see the traceback)"
    return " ".join(text.split())


def _describe_service_error(error: LlmspellError, args: argparse.Namespace) -> str:
    if error.reason == "STORAGE_UNAVAILABLE" and "lock" in error.message.lower():
        path = error.metadata.get("path", "the store")
        return f"{error.reason}: another server holds the store at {path} (its RocksDB LOCK is taken): stop it first"
    if error.reason == "UNAVAILABLE" and error.message == SERVER_STOPPING and hasattr(args, "target"):
        return f"UNAVAILABLE: the server at {resolve_target(args.target)} is shutting down (it ended this call)"
    if error.reason == "UNAVAILABLE" and hasattr(args, "target"):  # a transport error, not the store
        return f"UNAVAILABLE: no server reachable at {resolve_target(args.target)}: {error.message}"
    return f"{error.reason}: {error.message}"
