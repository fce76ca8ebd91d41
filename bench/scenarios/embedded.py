"""Embedded session operations on both backends, each interleaved with its raw-rocksdict ceiling.

create_session, get_session, load_session (working set: every session already loaded once, so no
session.loaded event is written), save_session(durable=False), save_session(durable=True) and
set_session_state (one small key). Reads cycle over a working set of sessions that are in the
engine's cache and hold one state key. The sweeper is off: it is measured by no figure here.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..ceilings import RawRocks
from ..framework import LATENCY, Contender, Context, Figure, Summary, Target, cdfs
from ..processes import UNLIMITED_CONFIG

if TYPE_CHECKING:
    from llmspell_sessions import SessionManager

NAME = "embedded"
ORDER = 20
BACKENDS = ("memory", "rocksdb")
WORKING_SET = 1_000


@dataclass
class Pairing:
    """One engine operation, the raw operation it is compared with, and its target."""

    name: str
    op: Callable[[], object]
    ceiling: str
    target: Target | None
    durable: bool = False


@contextmanager
def open_manager(ctx: Context, backend: str) -> Iterator[SessionManager]:
    """A SessionManager on a fresh store of the given backend."""
    from llmspell_sessions import SessionManager

    path = ctx.tempdir(f"embedded-{backend}") / "store"
    manager = SessionManager(storage_backend=backend, storage_path=str(path), start_sweeper=False, **UNLIMITED_CONFIG)
    try:
        yield manager
    finally:
        manager.close()


def pairings(m: SessionManager, working: list[str], backend: str) -> list[Pairing]:
    """The measured operations, in run order, each cycling over the working set."""
    ids = itertools.cycle(working)
    steps = itertools.count()
    sync_target = Target.at_most_times(1.2, "rocksdict put sync") if backend == "rocksdb" else None
    return [
        Pairing("get_session", lambda: m.get_session(next(ids)), "rocksdict get", None),
        Pairing("load_session", lambda: m.load_session(next(ids)), "rocksdict get", Target.at_most_us(3.4)),
        Pairing(
            "save_session(durable=False)",
            lambda: m.save_session(next(ids), durable=False),
            "rocksdict put",
            Target.at_most_us(15.3),
        ),
        Pairing(
            "save_session(durable=True)",
            lambda: m.save_session(next(ids), durable=True),
            "rocksdict put sync",
            sync_target,
            durable=True,
        ),
        Pairing(
            "set_session_state",
            lambda: m.set_session_state(next(ids), {"step": next(steps)}),
            "rocksdict put",
            None,
        ),
    ]


def measure_backend(ctx: Context, backend: str, rocks: RawRocks) -> None:
    """All operations on one backend."""
    raw = {
        "rocksdict put": Contender("rocksdict put", rocks.put),
        "rocksdict get": Contender("rocksdict get", rocks.get),
        "rocksdict put sync": Contender("rocksdict put sync", rocks.put_sync),
    }
    samples = ctx.count(30_000, 5_000)
    durable_samples = ctx.count(10_000, 1_000)
    with open_manager(ctx, backend) as m:
        created: list[str] = []
        create = Contender("create_session", lambda: created.append(m.create_session(name="bench")))
        found = ctx.interleave_raw(
            [create, raw["rocksdict put"]], samples, warmup=200, label=f"{backend} create_session"
        )
        record(ctx, backend, "create_session", found, "rocksdict put", Target.at_most_us(24.5), len(created))
        working = created[-WORKING_SET:]
        for sid in working:  # one state key each, and loaded once: the working set
            m.set_session_state(sid, {"step": 0})
            m.load_session(sid)
        for pairing in pairings(m, working, backend):
            count = durable_samples if pairing.durable else samples
            contenders = [Contender(pairing.name, pairing.op), raw[pairing.ceiling]]
            found = ctx.interleave_raw(
                contenders, count, warmup=min(200, count // 10), label=f"{backend} {pairing.name}"
            )
            record(ctx, backend, pairing.name, found, pairing.ceiling, pairing.target, len(created))


def record(
    ctx: Context,
    backend: str,
    name: str,
    found: dict[str, list[float]],
    ceiling: str,
    target: Target | None,
    sessions: int,
) -> None:
    """Adds one engine figure with its interleaved ceiling (and both CDFs, for the plots)."""
    info: dict[str, Any] = {"sessions_in_store": sessions, "working_set": WORKING_SET}
    if backend == "memory" and "sync" in ceiling:
        info["note"] = "the memory backend's sync is a no-op: compare with rocksdb, not with the ceiling"
    ctx.record(
        Figure(
            NAME,
            name,
            backend,
            LATENCY,
            Summary.of(found[name]),
            ceiling_name=ceiling,
            ceiling=Summary.of(found[ceiling]),
            target=target,
            interleaved=True,
            info=info,
            cdf=cdfs(found[name], found[ceiling]),
        )
    )


def run(ctx: Context) -> None:
    """Both backends, against one raw rocksdict store."""
    rocks = RawRocks(ctx.tempdir("embedded-ceiling") / "db")
    try:
        for backend in BACKENDS:
            measure_backend(ctx, backend, rocks)
    finally:
        rocks.close()
