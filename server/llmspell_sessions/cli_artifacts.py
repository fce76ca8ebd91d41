"""Artifact subcommands of the command line (put, get, list, info, delete) and stats."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .cli import ARTIFACT_COLUMNS, emit
from .cli_client import SID, _client, _command, _common, _json_object
from .model import ArtifactType


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


def _put(args: argparse.Namespace) -> int:
    with _client(args) as client:
        artifact = client.upload_file(
            args.session_id,
            args.file,
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
    with _client(args) as client:
        artifact = client.download_file(args.artifact_id, args.output, progress=ProgressBar("download"))
        emit(artifact, args.json, ARTIFACT_COLUMNS)
    return 0


def add_artifact_commands(commands: Any) -> None:
    group = commands.add_parser("artifact", help="store, fetch and list artifacts").add_subparsers(
        title="artifact commands", required=True
    )
    put = group.add_parser("put", help="upload a file as the next version of an artifact")
    _common(put)
    put.add_argument("session_id")
    put.add_argument("file")
    put.add_argument("--name", help="artifact name (default: the file name)")
    put.add_argument("--type", type=_artifact_type, default=ArtifactType.USER_INPUT)
    put.add_argument("--description", default="")
    put.add_argument("--tag", action="append", default=[])
    put.add_argument("--mime-type", default="")
    put.add_argument("--metadata", type=_json_object, default=None)
    put.set_defaults(run=_put)
    get = group.add_parser("get", help="download an artifact to a file (digest checked)")
    _common(get)
    get.add_argument("artifact_id")
    get.add_argument("output")
    get.set_defaults(run=_get)
    _command(
        group,
        "list",
        "list a session's artifacts",
        lambda c, a: (
            c.list_artifacts(
                a.session_id,
                name_pattern=a.pattern,
                all_versions=a.all_versions,
                order_by=a.order_by,
                page_size=a.page_size,
            ).items
        ),
        SID,
        (("--pattern",), {"default": "", "help": "glob over names"}),
        (("--all-versions",), {"action": "store_true"}),
        (("--order-by",), {"default": ""}),
        (("--page-size",), {"type": int, "default": 100}),
    )
    _command(
        group,
        "info",
        "show an artifact's metadata",
        lambda c, a: c.get_artifact_info(a.artifact_id),
        (("artifact_id",), {}),
    )
    _command(
        group, "delete", "delete an artifact", lambda c, a: c.delete_artifact(a.artifact_id), (("artifact_id",), {})
    )
    _command(
        commands,
        "stats",
        "storage statistics of a session or the whole tenant",
        lambda c, a: c.get_storage_stats(a.session_id),
        (("session_id",), {"nargs": "?", "default": ""}),
    )
