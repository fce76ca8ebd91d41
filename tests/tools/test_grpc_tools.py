"""Real gRPC tools against the server through reflection: grpcurl, grpc_health_probe, ghz.

`make tools` builds them into .tools/ (make test does it first)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.helpers.server import ServerProcess

TOOLS = Path(__file__).resolve().parents[2] / ".tools"


def _tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make tools`")
    return str(path)


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"{args[0]} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def test_grpcurl_lists_describes_and_calls(shared_server: ServerProcess) -> None:
    grpcurl, target = _tool("grpcurl"), shared_server.address
    services = _run(grpcurl, "-plaintext", target, "list").stdout.split()
    assert {
        "llmspell.sessions.v1.SessionService",
        "llmspell.sessions.v1.ArtifactService",
        "llmspell.sessions.v1.ReplayService",
        "grpc.health.v1.Health",
    } <= set(services)
    described = _run(grpcurl, "-plaintext", target, "describe", "llmspell.sessions.v1.SessionService").stdout
    assert "rpc CreateSession" in described and "rpc LoadSession" in described
    created = json.loads(
        _run(
            grpcurl,
            "-plaintext",
            "-d",
            '{"name": "from grpcurl", "tags": ["cli"]}',
            target,
            "llmspell.sessions.v1.SessionService/CreateSession",
        ).stdout
    )
    assert created["name"] == "from grpcurl" and created["state"] == "SESSION_STATE_ACTIVE"
    state = json.dumps({"session_id": created["session_id"], "entries": {"k": {"a": [1, 2]}}})
    _run(grpcurl, "-plaintext", "-d", state, target, "llmspell.sessions.v1.SessionService/SetSessionState")
    got = json.loads(
        _run(
            grpcurl,
            "-plaintext",
            "-d",
            json.dumps({"session_id": created["session_id"]}),
            target,
            "llmspell.sessions.v1.SessionService/GetSessionState",
        ).stdout
    )
    assert got["entries"] == {"k": {"a": [1, 2]}}
    failed = _run(
        grpcurl,
        "-plaintext",
        "-d",
        '{"session_id": "nope"}',
        target,
        "llmspell.sessions.v1.SessionService/GetSession",
        check=False,
    )
    assert failed.returncode != 0 and "InvalidArgument" in failed.stderr and "ErrorInfo" in failed.stderr


def test_grpc_health_probe(shared_server: ServerProcess) -> None:
    probe = _tool("grpc-health-probe")
    assert (
        "SERVING"
        in _run(probe, f"-addr={shared_server.address}").stdout + _run(probe, f"-addr={shared_server.address}").stderr
    )
    _run(probe, f"-addr={shared_server.address}", "-service=llmspell.sessions.v1.ArtifactService")
    unknown = _run(probe, f"-addr={shared_server.address}", "-service=nope", check=False)
    assert unknown.returncode != 0


def test_ghz_short_load_run(shared_server: ServerProcess, tmp_path: Path) -> None:
    out = tmp_path / "ghz.json"
    _run(
        _tool("ghz"),
        "--insecure",
        "--call",
        "llmspell.sessions.v1.SessionService/CreateSession",
        "-d",
        '{"name": "ghz"}',
        "-n",
        "300",
        "-c",
        "8",
        "--format",
        "json",
        "-o",
        str(out),
        shared_server.address,
    )
    report = json.loads(out.read_text())
    assert report["count"] == 300
    assert report["statusCodeDistribution"] == {"OK": 300}, report["statusCodeDistribution"]
