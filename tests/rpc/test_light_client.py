"""The Python client needs only grpcio and protobuf: run it from a venv without the server's deps."""

from __future__ import annotations

import subprocess
import venv
from pathlib import Path

import pytest

from tests.helpers.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import SessionNotFound
with SessionClient(sys.argv[1]) as client:
    sid = client.create_session(name="light")
    client.set_session_state(sid, {"k": [1, 2]})
    assert client.get_session_state(sid) == {"k": [1, 2]}
    aid = client.store_artifact(sid, "a.txt", b"hello")
    assert client.get_artifact(sid, aid)[1] == b"hello"
    assert [e.type for e in client.list_events(sid).items][-1] == "artifact.stored"
    try:
        client.get_session("00000000-0000-7000-8000-000000000000")
    except SessionNotFound:
        pass
heavy = {"rocksdict", "orjson", "lz4", "blake3", "llmspell_sessions.engine", "llmspell_sessions.storage"}
loaded = heavy & set(sys.modules)
assert not loaded, loaded
print("light client ok")
"""


@pytest.mark.slow
def test_client_runs_with_grpcio_and_protobuf_only(shared_server: ServerProcess, tmp_path: Path) -> None:
    env_dir = tmp_path / "light"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "grpcio", "protobuf", "googleapis-common-protos"],
        check=True,
        timeout=600,
    )
    probe = subprocess.run([str(python), "-c", "import rocksdict"], capture_output=True)
    assert probe.returncode != 0  # really without the server's dependencies
    result = subprocess.run(
        [str(python), "-c", SCRIPT, shared_server.address],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": str(ROOT / "server"), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "light client ok" in result.stdout
