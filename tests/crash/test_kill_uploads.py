"""SIGKILL the server during uploads: no partial artifact ever shows, earlier artifacts stay intact."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest
from blake3 import blake3
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import LlmspellError
from llmspell_sessions.model import UploadHeader

from tests.helpers.consistency import check_store_command
from tests.helpers.server import ServerProcess

pytestmark = pytest.mark.slow
MiB = 1024 * 1024


def test_sigkill_during_uploads(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory()
    done: list[tuple[str, str, str]] = []  # (session, artifact id, digest) acknowledged
    with SessionClient(server.address) as c:
        sid = c.create_session(name="uploads")
        for i in range(3):
            data = os.urandom(2 * MiB)
            done.append(
                (sid, c.upload_artifact(UploadHeader(sid, f"before-{i}"), [data]).artifact_id, blake3(data).hexdigest())
            )
    stop = threading.Event()

    def uploader(n: int) -> None:
        with SessionClient(server.address, timeout=10) as c:
            i = 0
            while not stop.is_set():
                data = os.urandom(3 * MiB + n)
                try:
                    artifact = c.upload_artifact(
                        UploadHeader(sid, f"during-{n}-{i}"), (data[j : j + MiB] for j in range(0, len(data), MiB))
                    )
                except LlmspellError:
                    return
                done.append((sid, artifact.artifact_id, blake3(data).hexdigest()))
                i += 1

    threads = [threading.Thread(target=uploader, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    time.sleep(2.0)
    server.kill()
    stop.set()
    for t in threads:
        t.join(15)
    check_store_command(server.path)
    server.start()
    with SessionClient(server.address) as c:
        listed = c.list_artifacts(sid, page_size=1000)
        session = c.get_session(sid)
        assert session.artifact_count == listed.total_size == len(listed.items)
        ids = {a.artifact_id for a in listed.items}
        for _, artifact_id, digest in done:
            assert artifact_id in ids
            artifact, content = c.get_artifact(sid, artifact_id)
            assert blake3(content).hexdigest() == digest == artifact.content_digest
        for artifact in listed.items:  # every visible artifact is whole
            assert blake3(c.get_artifact(sid, artifact.artifact_id)[1]).hexdigest() == artifact.content_digest
