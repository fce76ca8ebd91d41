"""Artifacts: versions, deduplication, streaming a file up and down, storage statistics."""

import os
import tempfile
from contextlib import ExitStack
from pathlib import Path

from llmspell_sessions import ArtifactType
from llmspell_sessions.client import SessionClient

with SessionClient() as client, tempfile.TemporaryDirectory() as tmp, ExitStack() as cleanup:
    sid = client.create_session(name="artifacts example")
    cleanup.callback(client.delete_session, sid)  # at the end: examples leave nothing behind
    first = client.store_artifact(sid, "answer.md", b"# Draft\n", ArtifactType.AGENT_OUTPUT, mime_type="text/markdown")
    second = client.store_artifact(sid, "answer.md", b"# Final\n", ArtifactType.AGENT_OUTPUT)
    latest = client.get_artifact_info(session_id=sid, name="answer.md")
    assert latest.artifact_id == second and latest.version == 2
    print("versions:", [(a.name, a.version) for a in client.list_artifacts(sid, all_versions=True).items])

    data = os.urandom(8 * 1024 * 1024)
    path = Path(tmp) / "dataset.bin"
    path.write_bytes(data)
    uploaded = client.upload_file(sid, path, artifact_type=ArtifactType.TOOL_RESULT)
    other = client.create_session(name="another session")
    cleanup.callback(client.delete_session, other)
    again = client.upload_file(other, path)
    print(f"uploaded {uploaded.size} bytes, new {uploaded.new_bytes}; same file elsewhere: new {again.new_bytes}")
    assert again.new_bytes == 0 and again.artifact_id != uploaded.artifact_id

    copy = Path(tmp) / "copy.bin"
    client.download_file(uploaded.artifact_id, copy)  # checks the BLAKE3 digest
    assert copy.read_bytes() == data
    print("stats:", client.get_storage_stats())
