"""Artifact subcommands (put, get, list, info, delete) and stats."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..model import ArtifactType
from .common import UsageError, client, command, json_object, list_command, subcommand
from .output import ARTIFACT_COLUMNS, emit
from .sessions import SID


class ProgressBar:
    """A one-line progress display on stderr for transfers larger than 1 MiB."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        if total < 1024 * 1024 or not sys.stderr.isatty() and done < total:
            return
        fraction = done / total if total else 1.0
        rate = done / max(time.monotonic() - self.started, 1e-6) / 1048576
        bar = "#" * int(fraction * 30)
        sys.stderr.write(f"\r{self.label} [{bar:<30}] {fraction:6.1%} {done >> 20}/{total >> 20} MiB {rate:.0f} MiB/s")
        self.shown = True
        if done >= total:
            sys.stderr.write("\n")


def _artifact_type(name: str) -> ArtifactType:
    try:
        return ArtifactType[name.upper()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"unknown artifact type {name!r}") from None


def readable_file(path: str) -> Path:
    """The file to upload, refused here (one line) when it is missing, a directory or unreadable."""
    source = Path(path)
    if source.is_dir():
        raise UsageError(f"artifact put: {path} is a directory: give a file")
    try:
        with source.open("rb"):
            pass
    except OSError as exc:
        raise UsageError(f"artifact put: cannot read {path}: {exc.strerror}") from None
    return source


def writable_destination(path: str) -> Path:
    """Where a download goes, refused here when it is a directory or its directory is not writable
    (the client writes ``<path>.part`` next to it, then renames it)."""
    target = Path(path)
    folder = target.parent
    if target.is_dir():
        raise UsageError(f"artifact get: {path} is a directory: give a file name")
    if not folder.is_dir():
        raise UsageError(f"artifact get: cannot write {path}: no directory {folder}")
    if target.exists() and not os.access(target, os.W_OK):
        raise UsageError(f"artifact get: cannot write {path}: permission denied")
    try:  # a file made and removed there: os.access does not see a read-only mount, /proc, or root's view
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{target.name}.", suffix=".probe"):
            pass
    except OSError as exc:
        raise UsageError(f"artifact get: cannot write {path}: {exc.strerror or exc}") from None
    return target


def _put(args: argparse.Namespace) -> int:
    source = readable_file(args.file)
    with client(args) as connection:
        artifact = connection.upload_file(
            args.session_id,
            source,
            args.name or "",
            args.type,
            description=args.description,
            tags=args.tag,
            mime_type=args.mime_type,
            metadata=args.metadata,
            progress=ProgressBar("upload"),
        )
    emit(artifact, args.json, ARTIFACT_COLUMNS)
    return 0


def _get(args: argparse.Namespace) -> int:
    target = writable_destination(args.output)
    partial = target.with_name(target.name + ".part")
    try:
        with client(args) as connection:
            artifact = connection.download_file(args.artifact_id, target, progress=ProgressBar("download"))
    except BaseException:
        partial.unlink(missing_ok=True)  # an interrupted download leaves nothing behind
        raise
    emit(artifact, args.json, ARTIFACT_COLUMNS)
    return 0


def add_artifact_commands(commands: Any) -> None:
    """Adds `artifact put|get|list|info|delete` and `stats` to the command parser."""
    group = commands.add_parser("artifact", help="store, fetch and list artifacts").add_subparsers(
        title="artifact commands", required=True
    )
    subcommand(
        group,
        "put",
        "upload a file as the next version of an artifact",
        SID,
        (("file",), {"help": "the file to upload"}),
        (("--name",), {"help": "artifact name (default: the file name)"}),
        (("--type",), {"type": _artifact_type, "default": ArtifactType.USER_INPUT, "help": "default user_input"}),
        (("--description",), {"default": ""}),
        (("--tag",), {"action": "append", "default": [], "help": "repeat for several"}),
        (("--mime-type",), {"default": ""}),
        (("--metadata",), {"type": json_object, "default": None, "help": "a JSON object"}),
    ).set_defaults(run=_put)
    subcommand(
        group,
        "get",
        "download an artifact to a file (digest checked)",
        (("artifact_id",), {}),
        (("output",), {"help": "the file to write"}),
    ).set_defaults(run=_get)
    _add_list_info_delete(group)
    command(
        commands,
        "stats",
        "storage statistics of a session or the whole tenant",
        lambda c, a: c.get_storage_stats(a.session_id),
        (("session_id",), {"nargs": "?", "default": "", "help": "a session (default: the whole tenant)"}),
    )


def _add_list_info_delete(group: Any) -> None:
    list_command(
        group,
        "list",
        "artifacts",
        lambda c, a, token: c.list_artifacts(
            a.session_id,
            name_pattern=a.pattern,
            all_versions=a.all_versions,
            order_by=a.order_by,
            page_size=a.page_size,
            page_token=token,
        ),
        SID,
        (("--pattern",), {"default": "", "help": "glob over names"}),
        (("--all-versions",), {"action": "store_true", "help": "every version, not just the latest of each name"}),
        (("--order-by",), {"default": "", "help": "create_time (default), create_time desc, name, size desc"}),
        columns=ARTIFACT_COLUMNS,
        page_size=100,
    )
    command(
        group,
        "info",
        "show an artifact's metadata",
        lambda c, a: c.get_artifact_info(a.artifact_id),
        (("artifact_id",), {}),
    )
    command(
        group, "delete", "delete an artifact", lambda c, a: c.delete_artifact(a.artifact_id), (("artifact_id",), {})
    )
