"""Deduplication reveals nothing across tenants: every answer tenant B gets (UploadChunks,
FindMissingChunks, CommitArtifact, UploadArtifact, GetStorageStats) is the same whether or not
tenant A already holds the same bytes.

Each test builds two cases that differ only in that: content A holds ("held") and content of the
same shape nobody holds ("fresh"), and compares B's answers.
"""

from __future__ import annotations

import os

from llmspell_sessions import Caller, Role, SessionManager
from llmspell_sessions.client import SessionClient
from llmspell_sessions.model import UploadHeader

from tests.helpers.server import ServerProcess

from .support import KiB, MiB, chunk_plan, content_with_tail, digest, upload_chunks

ALICE = Caller(tenant="team-a", subject="alice", role=Role.WRITER)
BOB = Caller(tenant="team-b", subject="bob", role=Role.WRITER)


def test_upload_chunks_answer_does_not_depend_on_other_tenants(secured: ServerProcess) -> None:
    held, fresh = os.urandom(12 * KiB), os.urandom(12 * KiB)  # one chunk each (below min_size)
    with SessionClient(secured.address, token="alice-w") as alice, SessionClient(secured.address, token="bob-w") as bob:
        alice.put_artifact(UploadHeader(alice.create_session(), "guessed.bin"), held)
        assert upload_chunks(bob, [(digest(held), held)]) == upload_chunks(bob, [(digest(fresh), fresh)])


def test_find_missing_chunks_answer_does_not_depend_on_other_tenants(engine: SessionManager) -> None:
    m = engine
    held, fresh = os.urandom(12 * KiB), os.urandom(12 * KiB)
    alice_session = m.create_session(caller=ALICE)
    alice_copy = m.store_artifact(alice_session, "guessed.bin", held, caller=ALICE)
    bob_digests = [digest(held), digest(fresh)]
    assert m.find_missing_chunks(bob_digests, caller=BOB) == bob_digests  # alice's chunk is not bob's
    m.upload_chunks([(digest(held), held), (digest(fresh), fresh)], caller=BOB)
    assert m.find_missing_chunks(bob_digests, caller=BOB) == []
    m.delete_artifact(alice_copy, caller=ALICE)  # alice lets go; grace 0
    m.collect_garbage()
    assert m.find_missing_chunks(bob_digests, caller=BOB) == []  # bob staged both: both still his
    bob_session = m.create_session(caller=BOB)
    for name, data in (("held", held), ("fresh", fresh)):
        header = UploadHeader(bob_session, name)
        m.commit_artifact(header, [(digest(data), len(data))], digest(data), caller=BOB)


def _artifact_view(artifact: object, prefix: int) -> tuple[int, int, bool]:
    """What an artifact says about storage, with its random (never compressed) prefix taken out."""
    return (
        artifact.new_bytes - prefix,  # type: ignore[attr-defined]
        artifact.stored_size - prefix,  # type: ignore[attr-defined]
        artifact.compressed,  # type: ignore[attr-defined]
    )


def test_upload_artifact_and_storage_stats_do_not_depend_on_other_tenants(secured: ServerProcess) -> None:
    # The tail is the last chunk of bob's content; alone, bob's large artifact stores it compressed.
    held_content, held_tail = content_with_tail(100 * KiB, 8 * KiB)
    fresh_content, fresh_tail = content_with_tail(100 * KiB, 8 * KiB)
    with SessionClient(secured.address, token="alice-w") as alice, SessionClient(secured.address, token="bob-w") as bob:
        # alice's artifact is below the compression threshold: she stores the tail raw.
        alice.put_artifact(UploadHeader(alice.create_session(), "guessed.bin"), held_tail)
        views, stats = [], []
        for content, tail in ((held_content, held_tail), (fresh_content, fresh_tail)):
            sid = bob.create_session()
            artifact = bob.upload_artifact(UploadHeader(sid, "doc.bin"), [content])
            prefix = len(content) - len(tail)
            views.append(_artifact_view(artifact, prefix))
            session_stats = bob.get_storage_stats(sid)
            stats.append((session_stats.stored_bytes - prefix, session_stats.unique_chunks - len(chunk_plan(content))))
        assert views[0] == views[1]
        assert stats[0] == stats[1]


def test_commit_artifact_answer_does_not_depend_on_other_tenants(secured: ServerProcess) -> None:
    # alice's upload gives up on compression after 16 incompressible chunks in its first 4 MiB batch,
    # so the tail (compressible, above the threshold) is stored raw; alone, bob's UploadChunks would
    # compress it.
    alice_content, held_tail = content_with_tail(5 * MiB, 12 * KiB)
    _, fresh_tail = content_with_tail(16 * KiB, 12 * KiB)
    with SessionClient(secured.address, token="alice-w") as alice, SessionClient(secured.address, token="bob-w") as bob:
        alice.put_artifact(UploadHeader(alice.create_session(), "model.bin"), alice_content)
        sid = bob.create_session()
        answers = []
        for name, tail in (("held", held_tail), ("fresh", fresh_tail)):
            upload_chunks(bob, [(digest(tail), tail)])
            artifact = bob.commit_artifact(UploadHeader(sid, name), [(digest(tail), len(tail))], digest(tail))
            answers.append(_artifact_view(artifact, 0))
        assert answers[0] == answers[1]
