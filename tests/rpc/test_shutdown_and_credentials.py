"""SIGTERM ends open subscriptions promptly with UNAVAILABLE; ambiguous credentials are refused."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest
from llmspell_sessions._pb import replay_pb2, replay_pb2_grpc, session_pb2, session_pb2_grpc
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
