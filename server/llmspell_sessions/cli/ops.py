"""Operations commands: `backup (--target ADDR | --path DIR) DEST`, `restore DEST --path NEWDIR`,
`retention` and `migrate` (both `--path DIR [--dry-run]`). They translate; the work is in
backup.py and the engine."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from .common import resolve_target

DEFAULT_PATH = ".llmspell-sessions"


def add_ops_commands(commands: Any) -> None:
    backup = commands.add_parser(
        "backup", help="a consistent copy of the embedded store into DEST (a directory of backups), while it serves"
    )
    source = backup.add_mutually_exclusive_group(required=True)
    source.add_argument("--target", help="a running server (operator token from $LLMSPELL_SESSION_TOKEN)")
    source.add_argument("--path", help="a store directory no server has open")
    backup.add_argument("--token", default=os.environ.get("LLMSPELL_SESSION_TOKEN", ""), help=argparse.SUPPRESS)
    backup.add_argument("dest", help="directory of backups: each run adds backup-<UTC time>/ (unchanged files linked)")
    backup.set_defaults(run=_backup)
    restore = commands.add_parser("restore", help="a new store from a backup, every file checked against its digest")
    restore.add_argument("dest", help="a backup, or a directory of backups (the latest is restored)")
    restore.add_argument("--path", required=True, help="the new store directory (must not exist or be empty)")
    restore.set_defaults(run=_restore)
    retention = commands.add_parser(
        "retention", help="apply the retention policies (config retention_*) to a store no server has open"
    )
    retention.add_argument("--path", help=f"store directory (default $LLMSPELL_SESSION_PATH or ./{DEFAULT_PATH})")
    retention.add_argument("--config", help="TOML file with the retention_* settings (or LLMSPELL_SESSION_RETENTION_*)")
    retention.add_argument("--dry-run", action="store_true", help="list what would be archived, deleted or expired")
    retention.set_defaults(run=_retention)
    migrate = commands.add_parser("migrate", help="bring a store written by an older version to this one's format")
    migrate.add_argument("--path", help=f"store directory (default $LLMSPELL_SESSION_PATH or ./{DEFAULT_PATH})")
    migrate.add_argument("--dry-run", action="store_true", help="list the steps, change nothing")
    migrate.set_defaults(run=_migrate)


def _backup(args: argparse.Namespace) -> int:
    from ..backup import BackupWriter, copy_snapshot, receive_backup

    if args.path and _existing_store(args.path) is None:
        return 2
    if args.target:
        from ..client import SessionClient

        with SessionClient(resolve_target(args.target), token=args.token) as client:
            writer = BackupWriter(Path(args.dest))
            done = receive_backup(client.backup_store(writer.known()), writer)
    else:
        from ..engine import SessionManager

        with SessionManager(storage_path=args.path, start_sweeper=False) as manager:
            writer = BackupWriter(Path(args.dest))
            snapshot, files = manager.snapshot_store()
            try:
                done = copy_snapshot(snapshot, files, writer)
            finally:
                shutil.rmtree(snapshot.parent, ignore_errors=True)
    print(f"backup {done} ({len(writer.files)} files, {writer.reused} reused from {writer.previous or 'none'})")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from ..backup import restore
    from ..check import check_store, format_report

    restored = restore(Path(args.dest), Path(args.path))
    report = check_store(args.path)
    print(f"restored {restored} into {args.path}")
    if not report.ok:
        print(format_report(report), file=sys.stderr)
        return 1
    return 0


def _retention(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..engine import SessionManager

    path = _existing_store(args.path)
    if path is None:
        return 2
    config = load_config(args.config, overrides={"storage_path": path})[0]
    with SessionManager(config, start_sweeper=False) as manager:
        report = manager.apply_retention(dry_run=args.dry_run, everything=True)
    verb = "would" if args.dry_run else "did"
    print(
        f"{report.visited} sessions visited; {verb} archive {len(report.archived)}, delete {len(report.deleted)}, "
        f"expire {len(report.expired_versions)} artifact versions"
    )
    for action, items in (("archive", report.archived), ("delete", report.deleted)):
        for tenant, session_id in items:
            print(f"  {action} {tenant}/{session_id}")
    for tenant, session_id, artifact_id in report.expired_versions:
        print(f"  expire {tenant}/{session_id} artifact {artifact_id}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from ..engine import store_format
    from ..storage.rocksdb import RocksDBStorage

    path = _existing_store(args.path)
    if path is None:
        return 2
    storage = RocksDBStorage(path)
    try:
        steps = store_format.plan(storage) if args.dry_run else store_format.migrate(storage)
    finally:
        storage.close()
    verb = "would run" if args.dry_run else "ran"
    print(f"{verb} {len(steps)} step(s) to format {store_format.STORE_FORMAT}")
    for step in steps:
        print(f"  {step.source} -> {step.source + 1}: {step.description}")
    return 0


def _existing_store(path: str | None) -> str | None:
    """The store directory asked for (default $LLMSPELL_SESSION_PATH, then ./.llmspell-sessions), or
    None after saying there is none: these commands must not create an empty store at a mistyped path."""
    path = path or os.environ.get("LLMSPELL_SESSION_PATH") or DEFAULT_PATH
    if (Path(path) / "CURRENT").is_file():
        return path
    print(f"error: no store at {path} (no RocksDB CURRENT file there)", file=sys.stderr)
    return None
