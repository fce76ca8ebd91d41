"""Upload identifiers are scoped to their session and the caller's access (upload_id, request_id);
failed starts leave nothing behind; and a resumable upload that ends early keeps every complete
chunk it received.
"""

from __future__ import annotations

import gc
import os
import time
import tracemalloc
import uuid
from collections.abc import Callable

import pytest
from llmspell_sessions import SessionManager
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import LlmspellError, UploadNotFound
from llmspell_sessions.model import UploadHeader

from tests.helpers.server import ServerProcess

from .support import InFlightUpload, KiB, MiB, cut_positions, digest, wait_for_committed

ServerFactory = Callable[..., ServerProcess]
DENIED_OR_GONE = {"PERMISSION_DENIED", "NOT_FOUND"}
SENT_FIRST = 10 * MiB


def _start_persisted_upload(alice: SessionClient, sid: str, upload_id: str, content: bytes) -> InFlightUpload:
    """alice's resumable upload, open, with part of the content sent and made durable by the server."""
    upload = InFlightUpload(alice, UploadHeader(sid, "model.bin", upload_id=upload_id))
    # The server hands 4 MiB received to the chunker at a time and persists once 4 MiB of complete
    # chunks are processed: 10 MiB is past that on any chunking.
    upload.send(content[:SENT_FIRST])
    assert wait_for_committed(alice, upload_id) > 0
    return upload


def test_upload_progress_is_hidden_from_subjects_without_access_to_the_session(secured: ServerProcess) -> None:
    content = os.urandom(12 * MiB)
    upload_id = f"up-{uuid.uuid4()}"
    with (
        SessionClient(secured.address, token="alice-w") as alice,
        SessionClient(secured.address, token="carol-w") as carol,
    ):
        sid = alice.create_session(name="private")
        upload = _start_persisted_upload(alice, sid, upload_id, content)
        try:
            with pytest.raises(LlmspellError) as caught:
                carol.query_upload_status(upload_id)
            assert caught.value.code in DENIED_OR_GONE, caught.value
        finally:
            upload.send(content[SENT_FIRST:])
            upload.finish()


def test_same_upload_id_on_another_session_does_not_break_the_owners_upload(secured: ServerProcess) -> None:
    content = os.urandom(12 * MiB)
    upload_id = f"up-{uuid.uuid4()}"
    with (
        SessionClient(secured.address, token="alice-w") as alice,
        SessionClient(secured.address, token="carol-w") as carol,
    ):
        sid = alice.create_session(name="private")
        upload = _start_persisted_upload(alice, sid, upload_id, content)
        carols = carol.create_session(name="carol's")
        try:  # carol may be refused or get an upload of her own: either way alice's must go on
            carol.upload_artifact(UploadHeader(carols, "model.bin", upload_id=upload_id), [b"not alice's bytes"])
        except LlmspellError:
            pass
        upload.send(content[SENT_FIRST:])
        artifact = upload.finish()
        assert artifact.session_id == sid and artifact.content_digest == digest(content)
        assert alice.get_artifact(sid, artifact.artifact_id)[1] == content


def test_artifact_request_id_is_scoped_to_the_session(server_factory: ServerFactory) -> None:
    server = server_factory()
    with SessionClient(server.address) as client:
        first, second = client.create_session(), client.create_session()
        stored = client.put_artifact(UploadHeader(first, "out.txt", request_id="req-1"), b"first session")
        retried = client.put_artifact(UploadHeader(first, "out.txt", request_id="req-1"), b"first session")
        assert retried.artifact_id == stored.artifact_id  # a retry in the same session is idempotent
        other = client.put_artifact(UploadHeader(second, "out.txt", request_id="req-1"), b"second session")
        assert other.session_id == second
        assert client.get_artifact(second, other.artifact_id)[1] == b"second session"


def test_artifact_request_id_of_another_subject_does_not_interfere(secured: ServerProcess) -> None:
    with (
        SessionClient(secured.address, token="alice-w") as alice,
        SessionClient(secured.address, token="carol-w") as carol,
    ):
        alice.put_artifact(UploadHeader(alice.create_session(), "out.txt", request_id="job-42"), b"alice")
        carols = carol.create_session()
        artifact = carol.put_artifact(UploadHeader(carols, "out.txt", request_id="job-42"), b"carol")
        assert artifact.session_id == carols
        assert carol.get_artifact(carols, artifact.artifact_id)[1] == b"carol"


FAILED_STARTS = 4000


def test_failed_resumable_starts_do_not_accumulate_memory(engine: SessionManager) -> None:
    m = engine
    sid = m.create_session()

    def fail_start(i: int) -> None:
        # Resuming an upload that does not exist: refused after the upload id was looked at.
        header = UploadHeader(sid, "model.bin", upload_id=f"missing-{i}", write_offset=1)
        with pytest.raises(UploadNotFound):
            m.begin_upload(header)

    for i in range(200):  # warm-up: caches and the session record
        fail_start(i)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        for i in range(200, 200 + FAILED_STARTS):
            fail_start(i)
        gc.collect()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown < FAILED_STARTS * 64, f"{grown / KiB:.0f} KiB kept after {FAILED_STARTS} failed starts"


def test_cancelled_resumable_upload_keeps_every_complete_chunk(server_factory: ServerFactory) -> None:
    server = server_factory()
    content = os.urandom(5 * MiB)
    sent = 3 * MiB
    upload_id = f"up-{uuid.uuid4()}"
    with SessionClient(server.address) as client:
        sid = client.create_session()
        upload = InFlightUpload(client, UploadHeader(sid, "model.bin", upload_id=upload_id))
        upload.wait_pulled(upload.send(content[:sent]))
        time.sleep(0.5)  # the last messages left the client: let them reach the server
        upload.cancel()
        committed = wait_for_committed(client, upload_id, timeout=5)
        assert 0 < committed <= sent
        assert committed in cut_positions(content)  # progress ends on a chunk boundary
        header = UploadHeader(sid, "model.bin", upload_id=upload_id, write_offset=committed)
        artifact = client.upload_artifact(header, [content[committed:]])
        assert artifact.size == len(content) and artifact.content_digest == digest(content)
        assert client.get_artifact(sid, artifact.artifact_id)[1] == content
