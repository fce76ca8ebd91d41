"""Archive subcommands: ``export SESSION_ID... [-o FILE]`` and ``import FILE``, over gRPC (--target) or
on a store directory in-process (--path). They only translate: one engine or client call each."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from typing import Any, BinaryIO

from .common import resolve_target
from .output import emit


def add_archive_commands(commands: Any) -> None:
    """Adds export and import to the command parser."""
    export = commands.add_parser("export", help="write sessions with their history and content to one archive file")
    export.add_argument("session_ids", nargs="+", metavar="SESSION_ID")
    export.add_argument("-o", "--output", default="-", help="archive file (default: standard output)")
    _where(export)
    export.set_defaults(run=_export)
    imported = commands.add_parser("import", help="import an archive file's sessions (identical ones are skipped)")
    imported.add_argument("file", metavar="FILE", help="archive file ('-': standard input)")
    _where(imported)
    imported.set_defaults(run=_import)


def _where(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--target", help="server HOST[:PORT] (default $LLMSPELL_SESSION_ADDRESS or 127.0.0.1:50051; port 50051)"
    )
    group.add_argument("--path", help="a store directory, opened in-process (no server may hold it)")
    parser.add_argument("--tenant", default="default", help="with --path: the tenant to work in (default 'default')")
    parser.add_argument("--token", help="bearer token (default $LLMSPELL_SESSION_TOKEN)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


@contextlib.contextmanager
def _store(args: argparse.Namespace) -> Iterator[Any]:
    """The embedded engine over --path (as an admin of --tenant), else a client of --target: both
    have the same two methods."""
    if args.path:
        from ..engine import SessionManager
        from ..engine.validation import tenant
        from ..model import Caller

        caller = Caller(tenant=tenant(args.tenant), subject="local")
        with SessionManager(storage_path=args.path, start_sweeper=False) as manager:
            yield _AsCaller(manager, caller)
        return
    from ..client import SessionClient

    with SessionClient(resolve_target(args.target), token=args.token or "") as client:
        yield client


class _AsCaller:
    """The engine's archive methods for one caller."""

    def __init__(self, manager: Any, caller: Any) -> None:
        self._manager, self._caller = manager, caller

    def export_sessions(self, session_ids: list[str], out: BinaryIO) -> None:
        self._manager.export_sessions(session_ids, out, caller=self._caller)

    def import_sessions(self, src: BinaryIO) -> Any:
        return self._manager.import_sessions(src, caller=self._caller)


@contextlib.contextmanager
def _open(name: str, mode: str) -> Iterator[BinaryIO]:
    if name == "-":
        yield sys.stdout.buffer if "w" in mode else sys.stdin.buffer
        return
    with open(name, mode) as handle:
        yield handle  # type: ignore[misc]


def _export(args: argparse.Namespace) -> int:
    with _store(args) as store, _open(args.output, "wb") as out:
        store.export_sessions(args.session_ids, out)
        size = out.tell() if out.seekable() else None
    if args.output != "-":
        summary = {"sessions": len(set(args.session_ids)), "file": args.output, "bytes": size}
        emit(summary, args.json)
    return 0


def _import(args: argparse.Namespace) -> int:
    with _store(args) as store, _open(args.file, "rb") as src:
        report = store.import_sessions(src)
    emit(report, args.json)
    return 0
