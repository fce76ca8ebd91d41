"""Backups of the embedded store and their restore: ``backup (--target ADDR | --path DIR) DEST`` and
``restore DEST --path NEWDIR``.

DEST is a directory of backups, one subdirectory each (``backup-<UTC time>``), every one complete
on its own: ``store/`` (the RocksDB checkpoint and ``store/segments/``, as taken by
engine/store_snapshot.py) and ``manifest.json`` (format, time, and size and BLAKE3 digest of every
file). A backup is written as ``<name>.partial`` and renamed once complete and synced, so a backup
directory without that suffix is whole. Files that cannot change once written (RocksDB's ``*.sst``
and segment files, which are append-only: the same name and size is the same bytes) and that the
latest earlier backup already holds are hard-linked from it instead of copied (incremental); over
gRPC the client names them, and the server does not send them.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
from blake3 import blake3

from .errors import DataLoss, InvalidArgument
from .model import RemoteFile

BACKUP_FORMAT = 1
MANIFEST = "manifest.json"
STORE = "store"
PARTIAL = ".partial"
PIECE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class FileEntry:
    size: int
    digest: str


def reusable(relative: str) -> bool:
    """Files whose name and size fix their bytes."""
    return relative.endswith(".sst") or relative.startswith("segments/")


def latest_backup(root: Path) -> Path | None:
    """The newest complete backup under root (names sort by time), or None."""
    if not root.is_dir():
        return None
    done = [p for p in root.iterdir() if p.is_dir() and not p.name.endswith(PARTIAL) and (p / MANIFEST).is_file()]
    return max(done, key=lambda p: p.name) if done else None


def read_manifest(backup: Path) -> dict[str, FileEntry]:
    try:
        document = orjson.loads((backup / MANIFEST).read_bytes())
        if document["format"] > BACKUP_FORMAT:
            raise InvalidArgument(f"backup format {document['format']} is newer than this version reads")
        return {rel: FileEntry(int(e["size"]), str(e["blake3"])) for rel, e in document["files"].items()}
    except (OSError, orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise DataLoss(f"cannot read the backup manifest in {backup}: {exc}", path=str(backup)) from None


class BackupWriter:
    """Writes one backup into root, reusing what the latest earlier one holds."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.previous = latest_backup(root)
        self._previous_files = read_manifest(self.previous) if self.previous else {}
        self.name = time.strftime("backup-%Y%m%dT%H%M%SZ", time.gmtime())
        while (root / self.name).exists() or (root / (self.name + PARTIAL)).exists():
            time.sleep(1)
            self.name = time.strftime("backup-%Y%m%dT%H%M%SZ", time.gmtime())
        self.work = root / (self.name + PARTIAL)
        self.work.mkdir()
        self.files: dict[str, FileEntry] = {}
        self.reused = 0

    def known(self) -> dict[str, int]:
        """{relative path: size} of the files a new backup may take from the previous one."""
        return {rel: e.size for rel, e in self._previous_files.items() if reusable(rel)}

    def reuse(self, relative: str, size: int) -> bool:
        """Takes the file from the previous backup when it holds the same one; False otherwise."""
        entry = self._previous_files.get(relative)
        if self.previous is None or entry is None or entry.size != size or not reusable(relative):
            return False
        source, target = self.previous / STORE / relative, self._target(relative)
        try:
            os.link(source, target)
        except OSError:  # another filesystem, or links not supported
            shutil.copyfile(source, target)
        self.files[relative] = entry
        self.reused += 1
        return True

    def write(self, relative: str, pieces: Iterator[bytes]) -> None:
        """Writes a file from its bytes, hashing them on the way."""
        digest, size = blake3(), 0
        with open(self._target(relative), "wb") as out:
            for piece in pieces:
                out.write(piece)
                digest.update(piece)
                size += len(piece)
            out.flush()
            os.fsync(out.fileno())
        self.files[relative] = FileEntry(size, digest.hexdigest())

    def _target(self, relative: str) -> Path:
        if relative.startswith("/") or ".." in Path(relative).parts:
            raise InvalidArgument(f"bad file name in a backup: {relative!r}")
        target = self.work / STORE / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def finish(self) -> Path:
        """Writes the manifest, syncs and renames the backup into place."""
        manifest = {
            "format": BACKUP_FORMAT,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": {rel: {"size": e.size, "blake3": e.digest} for rel, e in sorted(self.files.items())},
        }
        with open(self.work / MANIFEST, "wb") as out:
            out.write(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
            out.flush()
            os.fsync(out.fileno())
        final = self.root / self.name
        os.rename(self.work, final)
        _fsync_dir(self.root)
        return final

    def abandon(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


def read_pieces(path: Path, size: int) -> Iterator[bytes]:
    """The first ``size`` bytes of a file, a piece at a time (a snapshot's active segment grows past
    the size it was taken at)."""
    with open(path, "rb") as source:
        left = size
        while left > 0:
            piece = source.read(min(PIECE, left))
            if not piece:
                raise DataLoss(f"{path} is shorter than its snapshot size {size}", path=str(path))
            left -= len(piece)
            yield piece


def copy_snapshot(snapshot: Path, files: dict[str, int], writer: BackupWriter) -> Path:
    """A backup from a local snapshot (``backup --path``)."""
    try:
        for relative, size in files.items():
            if not writer.reuse(relative, size):
                writer.write(relative, read_pieces(snapshot / relative, size))
        return writer.finish()
    except BaseException:
        writer.abandon()
        raise


def receive_backup(parts: Iterator[RemoteFile | bytes], writer: BackupWriter) -> Path:
    """A backup from BackupStore's stream (``backup --target``), each file written as it arrives."""
    stream = iter(parts)
    following: RemoteFile | bytes | None = None

    def body() -> Iterator[bytes]:  # the bytes of the current file, up to the next file's header
        nonlocal following
        for part in stream:
            if not isinstance(part, bytes):
                following = part
                return
            yield part

    try:
        following = next(stream, None)  # the server's refusal, if any, comes here
        while following is not None:
            entry, following = following, None
            if isinstance(entry, bytes):
                raise DataLoss("backup stream: bytes outside a file")
            if entry.reused:
                if not writer.reuse(entry.path, entry.size):
                    raise DataLoss(f"backup stream reused {entry.path}, which the previous backup lacks")
                following = next(stream, None)
                continue
            writer.write(entry.path, body())
            if writer.files[entry.path].size != entry.size:
                raise DataLoss(f"backup file {entry.path} arrived incomplete", path=entry.path)
        return writer.finish()
    except BaseException:
        writer.abandon()
        raise


def restore(source: Path, target: Path) -> Path:
    """Copies a backup (``source`` is one, or a directory of them: the latest) to a new store at
    target, checking every file's size and digest first; returns the backup restored."""
    backup = source if (source / MANIFEST).is_file() else latest_backup(source)
    if backup is None:
        raise InvalidArgument(f"no backup at {source}", path=str(source))
    if target.exists() and any(target.iterdir()):
        raise InvalidArgument(f"{target} is not empty: restore writes a new store", path=str(target))
    files = read_manifest(backup)
    for relative, entry in files.items():
        _verify(backup / STORE / relative, entry)
    work = target.with_name(target.name + PARTIAL)
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(backup / STORE, work)
    if target.exists():
        target.rmdir()
    os.rename(work, target)
    return backup


def _verify(path: Path, entry: FileEntry) -> None:
    digest, size = blake3(), 0
    try:
        with open(path, "rb") as source:
            while piece := source.read(PIECE):
                digest.update(piece)
                size += len(piece)
    except OSError as exc:
        raise DataLoss(f"backup file {path} is unreadable: {exc}", path=str(path)) from None
    if size != entry.size or digest.hexdigest() != entry.digest:
        raise DataLoss(f"backup file {path} does not match its manifest (damaged)", path=str(path))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
