"""Artifacts across servers sharing PostgreSQL and an object store: a resumable upload started on one
server resumes on another after the first is killed (SIGKILL), and either server reads what the
other stored."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from blake3 import blake3
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import UploadNotFound
from llmspell_sessions.model import UploadHeader

from tests.helpers.s3 import SeaweedS3
from tests.helpers.server import ServerProcess

pytestmark = pytest.mark.slow
MiB = 1024 * 1024


def test_an_upload_started_on_a_killed_server_resumes_on_another(
    server_factory: Callable[..., ServerProcess], postgres_dsn: str, seaweed: SeaweedS3
) -> None:
    args = ["--postgres-dsn", postgres_dsn, "--blob-store", "s3", "--s3-endpoint", seaweed.endpoint]
    args += ["--s3-bucket", "shared-uploads"]
    a = server_factory(backend="postgres", args=args, env=seaweed.env())
    b = server_factory(backend="postgres", args=args, env=seaweed.env())
    data = os.urandom(16 * MiB)
    upload_id = "resume-across-" + blake3(data).hexdigest()[:12]
    with SessionClient(a.address) as on_a, SessionClient(b.address) as on_b:
        session_id = on_a.create_session(name="uploads")
        header = UploadHeader(session_id, "big", upload_id=upload_id)
        released = threading.Event()

        def slow_pieces() -> Iterator[bytes]:
            for start in range(0, len(data), MiB):
                if start == 10 * MiB:
                    released.set()
                    time.sleep(60)  # held open until the server dies under it
                yield data[start : start + MiB]

        def upload_on_a() -> None:
            try:
                on_a.upload_artifact(header, slow_pieces())
            except Exception:  # noqa: BLE001, S110 - the server is killed under this stream
                pass

        uploader = threading.Thread(target=upload_on_a, daemon=True)
        uploader.start()
        assert released.wait(30)
        deadline = time.monotonic() + 15
        held = 0
        while time.monotonic() < deadline and held == 0:  # until a durable part is recorded
            try:
                held = on_b.query_upload_status(upload_id).committed_size
            except UploadNotFound:
                pass
            time.sleep(0.05)
        assert 0 < held <= 10 * MiB
        a.kill()

        status = on_b.query_upload_status(upload_id)
        assert not status.complete and status.committed_size >= held
        resumed = UploadHeader(session_id, "big", upload_id=upload_id, write_offset=status.committed_size)
        artifact = on_b.upload_artifact(
            resumed, (data[i : i + MiB] for i in range(status.committed_size, len(data), MiB))
        )
        assert artifact.size == len(data) and artifact.content_digest == blake3(data).hexdigest()
        assert on_b.get_artifact(session_id, artifact.artifact_id)[1] == data
        assert on_b.query_upload_status(upload_id).complete
        assert on_b.get_session(session_id).artifact_count == 1

    a.start()  # a server started again reads what the other one stored
    with SessionClient(a.address) as on_a:
        assert on_a.get_artifact(session_id, artifact.artifact_id)[1] == data
