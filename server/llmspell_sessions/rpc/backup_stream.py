"""BackupStore's sending side: snapshot the store (hard links inside it), send its files (those the
client holds by name only), then drop the snapshot."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from .._pb import session_pb2
from ..backup import read_pieces, reusable
from ..engine import SessionManager
from .interceptors import current_caller

PIECES_PER_HOP = 4


async def stream_backup(
    manager: SessionManager, request: session_pb2.BackupStoreRequest, run: Callable[..., Any]
) -> AsyncIterator[session_pb2.BackupStorePart]:
    known = {f.path: f.size for f in request.known_files}
    snapshot, files = await run(manager.snapshot_store, caller=current_caller())
    try:
        for relative, size in files.items():
            entry = session_pb2.BackupFile(path=relative, size=size)
            if known.get(relative) == size and reusable(relative):
                yield session_pb2.BackupStorePart(reused=entry)
                continue
            yield session_pb2.BackupStorePart(file=entry)
            pieces = read_pieces(snapshot / relative, size)
            while batch := await run(_take, pieces, PIECES_PER_HOP):
                for piece in batch:
                    yield session_pb2.BackupStorePart(data=piece)
    finally:
        await run(shutil.rmtree, snapshot.parent, True)


def _take(pieces: Iterator[bytes], count: int) -> list[bytes]:
    return [piece for _, piece in zip(range(count), pieces, strict=False)]
