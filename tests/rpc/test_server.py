"""The server process: health, reflection, correlation ids, graceful SIGTERM, loopback guard, restart."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from llmspell_sessions.client import SessionClient

from tests.helpers.server import ServerProcess

SERVICES = [
    "llmspell.sessions.v1.SessionService",
    "llmspell.sessions.v1.ArtifactService",
    "llmspell.sessions.v1.ReplayService",
]


def test_health_is_serving_for_all_and_each_service(shared_server: ServerProcess) -> None:
    with grpc.insecure_channel(shared_server.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ["", *SERVICES]:
            response = stub.Check(health_pb2.HealthCheckRequest(service=name))
            assert response.status == health_pb2.HealthCheckResponse.SERVING, name
        with pytest.raises(grpc.RpcError) as caught:
            stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
        assert caught.value.code() == grpc.StatusCode.NOT_FOUND


def _list_services(channel: grpc.Channel, method: str) -> list[str]:
    call = channel.stream_stream(
        method,
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    responses = list(call(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
    return [s.name for s in responses[0].list_services_response.service]


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_lists_services_under_both_names(shared_server: ServerProcess, version: str) -> None:
    with grpc.insecure_channel(shared_server.address) as channel:
        names = _list_services(channel, f"/grpc.reflection.{version}.ServerReflection/ServerReflectionInfo")
    assert set(SERVICES) <= set(names)
    assert "grpc.health.v1.Health" in names


def test_reflection_describes_a_service_file(shared_server: ServerProcess) -> None:
    with grpc.insecure_channel(shared_server.address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICES[0])
        response = next(stub.ServerReflectionInfo(iter([request])))
    assert response.file_descriptor_response.file_descriptor_proto
    assert b"CreateSession" in b"".join(response.file_descriptor_response.file_descriptor_proto)


def test_sigterm_drains_and_exits_zero_and_restart_keeps_everything(
    server_factory: Callable[..., ServerProcess],
) -> None:
    server = server_factory()
    with SessionClient(server.address) as c:
        sid = c.create_session(name="persisted", tags=["t"], metadata={"m": 1})
        c.set_session_state(sid, {"k": {"nested": [1, 2]}})
        c.suspend_session(sid)
        before = c.get_session(sid)
    assert server.terminate() == 0
    assert any("stopped" in line for line in server.log)
    server.start()
    with SessionClient(server.address) as c:
        after = c.get_session(sid)
        assert (after.name, after.state, after.etag, after.tags) == ("persisted", before.state, before.etag, ["t"])
        assert c.get_session_state(sid) == {"k": {"nested": [1, 2]}}
        assert c.list_sessions(states=[before.state]).total_size == 1
        assert c.resume_session(sid).last_event_seq == before.last_event_seq + 1


def test_refuses_non_loopback_address_without_tokens(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "llmspell_sessions", "serve", "--address", "0.0.0.0:0", "--path", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--insecure" in result.stderr


def test_memory_backend_serves(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory(backend="memory")
    with SessionClient(server.address) as c:
        sid = c.create_session(name="mem")
        assert c.get_session(sid).name == "mem"


def test_reflection_lists_and_describes_its_own_v1_service(shared_server: ServerProcess) -> None:
    with grpc.insecure_channel(shared_server.address) as channel:
        names = _list_services(channel, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(file_containing_symbol="grpc.reflection.v1.ServerReflection")
        response = next(stub.ServerReflectionInfo(iter([request])))
    assert {"grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"} <= set(names)
    files = b"".join(response.file_descriptor_response.file_descriptor_proto)
    assert b"grpc/reflection/v1/reflection.proto" in files and b"ServerReflectionInfo" in files
