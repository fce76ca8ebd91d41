"""SIGTERM ends open subscriptions promptly with UNAVAILABLE, and drains the other calls in flight
with the port still open (health NOT_SERVING, new calls UNAVAILABLE); ambiguous credentials are refused."""

from __future__ import annotations

import hashlib
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from llmspell_sessions._pb import artifact_pb2, replay_pb2, replay_pb2_grpc, session_pb2, session_pb2_grpc
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import LlmspellError

from tests.helpers.server import ServerProcess


def test_sigterm_ends_an_open_subscription_with_unavailable(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory()
    with SessionClient(server.address) as client:
        sid = client.create_session()
    codes: list[grpc.StatusCode] = []
    opened = threading.Event()

    def tail() -> None:
        with grpc.insecure_channel(server.address) as channel:
            stream = replay_pb2_grpc.ReplayServiceStub(channel).SubscribeEvents(
                replay_pb2.SubscribeEventsRequest(session_id=sid)
            )
            try:
                for _ in stream:
                    opened.set()  # the history (session.created) came: the subscription is live
            except grpc.RpcError as exc:
                codes.append(exc.code())  # type: ignore[attr-defined]
                details.append(exc.details())  # type: ignore[attr-defined]

    details: list[str] = []
    reader = threading.Thread(target=tail, daemon=True)
    reader.start()
    assert opened.wait(10)
    started = time.monotonic()
    assert server.terminate(timeout=20) == 0
    took = time.monotonic() - started
    reader.join(10)
    assert took < 5, f"shutdown took {took:.1f}s with a subscription open (grace is 10 s)"
    assert codes == [grpc.StatusCode.UNAVAILABLE], (codes, details)
    assert details == ["server shutting down"]


def test_the_drain_keeps_the_port_open_health_not_serving_and_new_calls_unavailable(
    server_factory: Callable[..., ServerProcess],
) -> None:
    """An upload in flight at SIGTERM is drained (it completes); meanwhile a new connection's health
    check reads NOT_SERVING (not a refused connection) and a new call is UNAVAILABLE."""
    server = server_factory()
    with SessionClient(server.address) as client:
        sid = client.create_session()
        sent, release = threading.Event(), threading.Event()

        def slow_upload() -> object:
            header = artifact_pb2.UploadHeader(session_id=sid, name="drained.bin")
            yield artifact_pb2.UploadArtifactRequest(header=header)
            yield artifact_pb2.UploadArtifactRequest(data=b"a" * 1000)
            sent.set()
            release.wait(15)
            yield artifact_pb2.UploadArtifactRequest(data=b"b" * 1000)

        upload = client.stub("artifact").UploadArtifact.future(slow_upload(), metadata=client.options.metadata())
        assert sent.wait(10)
        time.sleep(0.3)  # the server has the header and the first data
        server.process.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
        statuses: list[int] = []
        with grpc.insecure_channel(server.address) as fresh:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                reply = health_pb2_grpc.HealthStub(fresh).Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
                statuses.append(reply.status)
                if reply.status == health_pb2.HealthCheckResponse.NOT_SERVING:
                    break
                time.sleep(0.05)
            assert statuses[-1] == health_pb2.HealthCheckResponse.NOT_SERVING, statuses
            with pytest.raises(grpc.RpcError) as refused:
                session_pb2_grpc.SessionServiceStub(fresh).GetSession(
                    session_pb2.GetSessionRequest(session_id=sid), timeout=5
                )
            assert refused.value.code() == grpc.StatusCode.UNAVAILABLE  # type: ignore[attr-defined]
            assert refused.value.details() == "server shutting down"  # type: ignore[attr-defined]
        release.set()
        stored = upload.result(timeout=15)
        assert stored.size == 2000
    assert server.process.wait(15) == 0  # type: ignore[union-attr]


def test_sigterm_ends_a_busy_subscription_promptly(server_factory: Callable[..., ServerProcess]) -> None:
    """SIGTERM while the server is waiting to send (a writer keeps appending large events to a slow
    reader, so flow control holds the send): a cancel landing inside grpc's send used to be lost and
    left the call open for the whole grace period."""
    server = server_factory()
    with SessionClient(server.address) as client:
        sid = client.create_session()
    received = threading.Event()
    stop_writing = threading.Event()
    codes: list[grpc.StatusCode] = []

    def write() -> None:
        with SessionClient(server.address) as writer:
            for index in range(100_000):
                if stop_writing.is_set():
                    return
                try:
                    writer.set_session_state(sid, {"counter": index, "padding": "x" * 16_384})
                except LlmspellError:
                    return  # the server is stopping

    def tail() -> None:
        with grpc.insecure_channel(server.address) as channel:
            stream = replay_pb2_grpc.ReplayServiceStub(channel).SubscribeEvents(
                replay_pb2.SubscribeEventsRequest(session_id=sid)
            )
            try:
                for count, _ in enumerate(stream):
                    if not stop_writing.is_set():
                        time.sleep(0.05)  # slower than the writer until the SIGTERM, then drain
                    if count >= 20:
                        received.set()
            except grpc.RpcError as exc:
                codes.append(exc.code())  # type: ignore[attr-defined]

    threads = [threading.Thread(target=write, daemon=True), threading.Thread(target=tail, daemon=True)]
    for thread in threads:
        thread.start()
    assert received.wait(30)
    started = time.monotonic()
    stop_writing.set()
    assert server.terminate(timeout=20) == 0
    took = time.monotonic() - started
    for thread in threads:
        thread.join(10)
    assert took < 5, f"shutdown took {took:.1f}s with a busy subscription (grace is 10 s)"
    assert codes == [grpc.StatusCode.UNAVAILABLE]


def test_two_authorization_headers_are_refused(server_factory: Callable[..., ServerProcess], tmp_path: Path) -> None:
    config = tmp_path / "server.toml"
    lines = []
    for token, subject in (("tok-a", "a"), ("tok-b", "b")):
        digest = hashlib.sha256(token.encode()).hexdigest()
        lines.append(f'[[auth.tokens]]\nsha256 = "{digest}"\nsubject = "{subject}"\ntenant = "t"\nrole = "writer"\n')
    config.write_text("\n".join(lines))
    server = server_factory(args=["--config", str(config)])
    with grpc.insecure_channel(server.address) as channel:
        stub = session_pb2_grpc.SessionServiceStub(channel)
        request = session_pb2.CreateSessionRequest()
        assert stub.CreateSession(request, metadata=[("authorization", "Bearer tok-a")], timeout=10).session_id
        for pair in (["tok-a", "tok-b"], ["tok-a", "tok-a"], ["tok-a", "nope"]):
            metadata = [("authorization", f"Bearer {token}") for token in pair]
            with pytest.raises(grpc.RpcError) as caught:
                stub.CreateSession(request, metadata=metadata, timeout=10)
            assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
            assert "2 'authorization' headers" in caught.value.details()  # type: ignore[attr-defined]
