"""The store's format version: which key layout and record encodings its data was written with.

Every backend keeps it under one reserved key (``keys.FORMAT_KEY``, outside every tenant's prefix).
Opening a store writes it when absent (a new store, or one written before versions existed, whose
layout is format 1); a newer format than this code knows is refused, so an old server never
misreads newer data; an older one is refused until ``migrate`` has run its steps (``plan`` lists them
for a dry run). Records also carry their own version as their first field and tolerate fields
appended after the ones they know (engine/codec.py), so adding a field needs no migration.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson

from ..errors import PreconditionError
from ..storage import Storage, WriteBatch, keys

STORE_FORMAT = 1


class StoreFormatError(PreconditionError):
    """The store's format is not the one this code reads (newer, or older and not migrated)."""

    reason = "STORE_FORMAT"


@dataclass(frozen=True, slots=True)
class Migration:
    """One step from format ``source`` to ``source + 1``."""

    source: int
    description: str
    apply: Callable[[Storage], None]


MIGRATIONS: dict[int, Migration] = {}
"""Steps by the format they start from; format 1 is the first, so none yet."""


def stored_format(storage: Storage) -> int | None:
    """The format recorded in the store, or None when it records none."""
    raw = storage.get("session_index", keys.FORMAT_KEY)
    return None if raw is None else int(orjson.loads(raw)["format"])


def open_format(storage: Storage) -> int:
    """Checks (and on a store without one, records) the format; StoreFormatError when it is not ours."""
    found = stored_format(storage)
    if found is None:
        _record(storage, STORE_FORMAT)
        return STORE_FORMAT
    if found > STORE_FORMAT:
        raise StoreFormatError(
            f"the store is in format {found}, newer than this server's {STORE_FORMAT}: run a newer llmspell-sessions",
            store_format=found,
            supported=STORE_FORMAT,
        )
    if found < STORE_FORMAT:
        raise StoreFormatError(
            f"the store is in format {found}, older than this server's {STORE_FORMAT}: back it up, then run "
            "`llmspell-sessions migrate` (`--dry-run` lists the steps)",
            store_format=found,
            supported=STORE_FORMAT,
        )
    return found


def plan(storage: Storage) -> list[Migration]:
    """The steps ``migrate`` would run, in order (empty when the store is current or new)."""
    found = stored_format(storage)
    if found is None or found >= STORE_FORMAT:
        return []
    return [MIGRATIONS[version] for version in range(found, STORE_FORMAT)]


def migrate(storage: Storage) -> list[Migration]:
    """Runs every step from the store's format to ours, recording each as it completes."""
    steps = plan(storage)
    for step in steps:
        step.apply(storage)
        _record(storage, step.source + 1)
    return steps


def _record(storage: Storage, version: int) -> None:
    batch = WriteBatch()
    batch.put("session_index", keys.FORMAT_KEY, orjson.dumps({"format": version}))
    storage.write(batch, sync=True)
