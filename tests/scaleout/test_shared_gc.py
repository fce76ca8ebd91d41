"""Garbage collection on a shared store: one process never collects a chunk another one has pinned.

Two engines over one PostgreSQL database stand for two server processes (each has its own pins,
as each process does); the pin rows in the database are all that tells one about the other's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.model import Caller, Role

ACME = Caller(tenant="acme", subject="alice", role=Role.WRITER)
DATA = bytes(range(256)) * 400


@pytest.fixture
def engines(postgres_dsn: str, tmp_path: Path) -> Iterator[tuple[SessionManager, SessionManager]]:
    settings = {"storage_backend": "postgres", "postgres_dsn": postgres_dsn, "start_sweeper": False}
    with (
        SessionManager(storage_path=str(tmp_path / "a"), chunk_gc_grace=0, **settings) as a,
        SessionManager(storage_path=str(tmp_path / "b"), chunk_gc_grace=0, **settings) as b,
    ):
        yield a, b


def digests(m: SessionManager) -> set[bytes]:
    return {digest for digest, _ in m._p.content.chunk_records()}


def test_a_chunk_pinned_by_one_process_survives_another_ones_collection(
    engines: tuple[SessionManager, SessionManager],
) -> None:
    a, b = engines
    session_id = a.create_session(name="gc", caller=ACME)
    artifact_id = a.store_artifact(session_id, "data", DATA, caller=ACME)
    stored = digests(a)
    assert stored
    a.delete_artifact(artifact_id, caller=ACME)  # unreferenced: due for collection at once (grace 0)

    a._p.content.pin(stored)  # as an upload on a does between its lookup and its commit
    assert b.collect_garbage() == 0
    assert digests(b) == stored

    a._p.content.unpin(stored)
    assert b.collect_garbage() == len(stored)
    assert digests(a) == set()


def test_references_taken_through_both_processes_are_all_counted(
    engines: tuple[SessionManager, SessionManager],
) -> None:
    a, b = engines
    first = a.create_session(name="one", caller=ACME)
    second = b.create_session(name="two", caller=ACME)
    kept = a.store_artifact(first, "data", DATA, caller=ACME)
    dropped = b.store_artifact(second, "data", DATA, caller=ACME)  # the same chunks, referenced again
    b.delete_artifact(dropped, caller=ACME)
    assert a.collect_garbage() == 0 and b.collect_garbage() == 0  # the first artifact still holds them
    assert a.get_artifact(first, kept, caller=ACME)[1] == DATA
