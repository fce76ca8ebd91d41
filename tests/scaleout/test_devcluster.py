"""make cluster's script: PostgreSQL on TCP, SeaweedFS and two frontends over them, all stopped by one
Ctrl-C."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from llmspell_sessions.client import SessionClient
from llmspell_sessions.devcluster.objectstore import free_ports
from llmspell_sessions.model import UploadHeader

from tests.helpers.s3 import find_weed
from tests.scaleout.conftest import children, wait_for

pytestmark = pytest.mark.slow


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.fixture
def cluster_dir() -> Iterator[Path]:
    """Outside pytest's private (0700) temporary tree: as root, PostgreSQL runs as the postgres user."""
    root = Path(tempfile.mkdtemp(prefix="llmspell-devcluster-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_devcluster_serves_one_store_on_two_frontends_and_stops_on_ctrl_c(cluster_dir: Path) -> None:
    weed = find_weed()
    if weed is None:
        pytest.skip("SeaweedFS's weed binary is missing: run make cluster-deps")
    pg_port, first, second = _free_ports(3)
    (s3_port,) = free_ports(1)
    frontends = [f"127.0.0.1:{first}", f"127.0.0.1:{second}"]
    process = subprocess.Popen(
        [sys.executable, "-m", "llmspell_sessions.devcluster", "--dir", str(cluster_dir / "cluster"),
         "--pg-port", str(pg_port), "--s3-port", str(s3_port), "--weed", weed, "--frontends", *frontends],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    output: list[str] = []
    threading.Thread(target=lambda: output.extend(process.stdout or ()), daemon=True).start()
    try:
        wait_for(lambda: "Ctrl-C stops the cluster\n" in output or process.poll() is not None, 120, "the cluster")
        assert f"postgres:  host=127.0.0.1 port={pg_port} user=postgres dbname=llmspell\n" in output
        assert any(line.startswith(f"s3:        http://127.0.0.1:{s3_port} bucket llmspell") for line in output)
        assert [line for line in output if line.startswith("frontend:")] == [f"frontend:  {a}\n" for a in frontends]
        with SessionClient(frontends[0]) as one, SessionClient(frontends[1]) as other:
            session_id = one.create_session(name="shared")
            assert other.get_session(session_id).name == "shared"
            content = bytes(range(256)) * 4000  # chunk bytes in the object store: readable on both
            artifact = one.upload_artifact(UploadHeader(session_id, "shared"), [content])
            assert other.get_artifact(session_id, artifact.artifact_id)[1] == content
        started = children(process.pid)
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
        assert not any(Path(f"/proc/{pid}").exists() for pid in started), "a frontend outlived the cluster"
        assert not (cluster_dir / "cluster" / "postgres" / "data" / "postmaster.pid").exists(), "PostgreSQL still runs"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
