"""One upload through the project's own grpc.aio Server and the Python client, traced in memory: the
client's trace continues on the server, down to the commit, the chunk pipeline and blob I/O."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from llmspell_sessions import tracing
from llmspell_sessions._pb import session_pb2
from llmspell_sessions.client import AsyncSessionClient, SessionClient
from llmspell_sessions.config import ServerConfig, SessionManagerConfig, TokenConfig
from llmspell_sessions.errors import SessionNotFound
from llmspell_sessions.model import ArtifactType, UploadHeader
from llmspell_sessions.rpc.server import Server
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

TOKEN = "s3cret-token-for-tracing"
UPLOAD = "/llmspell.sessions.v1.ArtifactService/UploadArtifact"


class ThreadedServer:
    """The project's Server on its own event loop in a thread (the blocking client calls it)."""

    def __init__(self, path: Path) -> None:
        token = TokenConfig(hashlib.sha256(TOKEN.encode()).hexdigest(), subject="tester", tenant="acme")
        self.engine = SessionManagerConfig(storage_path=str(path), rate_limit_global=0, rate_limit_per_session=0)
        self.config = ServerConfig(address="127.0.0.1:0", tokens=(token,), access_log=False)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> str:
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)
        return self.server.address

    async def _start(self) -> Server:
        server = Server(self.engine, self.config)
        await server.start()
        return server

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def served(spans: InMemorySpanExporter, tmp_path: Path) -> Iterator[tuple[ThreadedServer, SessionClient]]:
    server = ThreadedServer(tmp_path / "store")  # built while tracing is on: its blob store is traced
    address = server.start()
    with SessionClient(address, token=TOKEN, tracing=True) as client:
        yield server, client
    server.stop()


def _settled(spans: InMemorySpanExporter, servers: int) -> tuple[ReadableSpan, ...]:
    """The finished spans once `servers` SERVER spans have ended (a server span ends just after the
    client has its answer)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        finished = spans.get_finished_spans()
        if sum(s.kind is SpanKind.SERVER for s in finished) >= servers:
            return finished
        time.sleep(0.01)
    raise AssertionError(f"fewer than {servers} server spans: {[s.name for s in spans.get_finished_spans()]}")


def _descendants(finished: tuple[ReadableSpan, ...], root: ReadableSpan) -> list[ReadableSpan]:
    children: dict[int, list[ReadableSpan]] = {}
    for s in finished:
        if s.parent is not None:
            children.setdefault(s.parent.span_id, []).append(s)
    found, todo = [], [root.context.span_id]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child.context.span_id)
    return found


def _one(finished: tuple[ReadableSpan, ...], name: str, kind: SpanKind) -> ReadableSpan:
    # (the instrumentation package names client spans after the method's path, with its leading "/")
    matching = [s for s in finished if s.name.lstrip("/") == name and s.kind is kind]
    assert len(matching) == 1, [(s.name, s.kind) for s in finished]
    return matching[0]


def test_an_upload_is_one_trace_from_the_client_span_to_commit_chunking_and_blob_writes(
    served: tuple[ThreadedServer, SessionClient], spans: InMemorySpanExporter
) -> None:
    _, client = served
    # Compressible (LZ4 pays) and over the chunker's sizes: several chunks, several batches' work.
    content = (b"tracing makes the hot path visible " * 40000) + os.urandom(300_000)
    with trace.get_tracer("test").start_as_current_span("app") as app:
        session_id = client.create_session(name="traced")
        header = UploadHeader(session_id=session_id, name="notes.txt", type=ArtifactType.TOOL_RESULT)
        artifact = client.upload_artifact(header, [content[i : i + 1 << 20] for i in range(0, len(content), 1 << 20)])
    assert artifact.size == len(content)
    trace_id = app.get_span_context().trace_id
    finished = _settled(spans, 2)
    assert {s.context.trace_id for s in finished} == {trace_id}

    client_span = _one(finished, UPLOAD.lstrip("/"), SpanKind.CLIENT)
    server_span = _one(finished, UPLOAD.lstrip("/"), SpanKind.SERVER)
    assert client_span.parent is not None and client_span.parent.span_id == app.get_span_context().span_id
    assert server_span.parent is not None and server_span.parent.span_id == client_span.context.span_id
    attrs = dict(server_span.attributes or {})
    assert attrs["rpc.service"] == "llmspell.sessions.v1.ArtifactService"
    assert attrs["rpc.method"] == "UploadArtifact"
    assert attrs["llmspell.tenant"] == "acme"
    assert attrs["llmspell.correlation_id"]
    assert attrs["rpc.grpc.status_code"] == 0
    assert server_span.status.status_code is StatusCode.UNSET

    below = _descendants(finished, server_span)
    names = [s.name for s in below]
    for name in ("storage.commit", "cas.chunk", "cas.hash", "cas.compress", "blob.append", "blob.sync"):
        assert name in names, names
    assert all(s.start_time >= server_span.start_time and s.end_time <= server_span.end_time for s in below)
    assert sum(dict(s.attributes or {})["bytes"] for s in below if s.name == "cas.chunk") == len(content)
    appended = [dict(s.attributes or {}) for s in below if s.name == "blob.append"]
    assert sum(a["bytes"] for a in appended) == artifact.stored_size < len(content)  # compressed
    commit = next(s for s in below if s.name == "storage.commit")
    assert dict(commit.attributes or {})["tenant"] == "acme"
    for s in finished:  # the token is never an attribute
        assert all(TOKEN not in str(v) for v in (s.attributes or {}).values())


def test_a_download_joins_the_callers_trace_and_reads_blobs(
    served: tuple[ThreadedServer, SessionClient], spans: InMemorySpanExporter
) -> None:
    _, client = served
    session_id = client.create_session()
    header = UploadHeader(session_id=session_id, name="blob.bin", type=ArtifactType.AGENT_OUTPUT)
    stored = client.put_artifact(header, os.urandom(200_000))
    spans.clear()
    with trace.get_tracer("test").start_as_current_span("app") as app:
        _, data = client.get_artifact(session_id, stored.artifact_id)
    assert len(data) == 200_000
    finished = _settled(spans, 1)
    # DownloadArtifact has no client span (see client/tracing.py): the server's joins the app span.
    download = _one(finished, "llmspell.sessions.v1.ArtifactService/DownloadArtifact", SpanKind.SERVER)
    assert download.context.trace_id == app.get_span_context().trace_id
    assert download.parent is not None and download.parent.span_id == app.get_span_context().span_id
    assert any(s.name == "blob.read" for s in _descendants(finished, download))


def test_the_callers_correlation_id_and_the_status_code_are_on_the_server_span(
    served: tuple[ThreadedServer, SessionClient], spans: InMemorySpanExporter
) -> None:
    _, client = served
    with pytest.raises(SessionNotFound):
        client.get_session("0192f7a8-0000-7000-8000-000000000000")
    stub = client.stub("session")
    metadata = [("authorization", f"Bearer {TOKEN}"), ("x-correlation-id", "corr-42")]
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetSession(session_pb2.GetSessionRequest(session_id="nope"), metadata=metadata)
    assert raised.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    servers = [s for s in _settled(spans, 2) if s.kind is SpanKind.SERVER]
    assert [dict(s.attributes or {})["rpc.grpc.status_code"] for s in servers] == [5, 3]
    assert dict(servers[1].attributes or {})["llmspell.correlation_id"] == "corr-42"
    # A caller's error leaves the status unset; the client span says what the client saw.
    assert all(s.status.status_code is StatusCode.UNSET for s in servers)
    client_span = next(s for s in spans.get_finished_spans() if s.kind is SpanKind.CLIENT)
    assert client_span.status.status_code is StatusCode.ERROR


def test_unauthenticated_calls_are_traced_with_their_code_and_no_tenant(
    served: tuple[ThreadedServer, SessionClient], spans: InMemorySpanExporter
) -> None:
    server, _ = served
    with SessionClient(server.server.address, token="wrong", tracing=True) as stranger:
        with pytest.raises(Exception, match="token|authoriz|Unauthenticated"):
            stranger.create_session()
    span = next(s for s in _settled(spans, 1) if s.kind is SpanKind.SERVER)
    attrs = dict(span.attributes or {})
    assert attrs["rpc.grpc.status_code"] == 16 and "llmspell.tenant" not in attrs
    assert "wrong" not in str(attrs)


def test_while_tracing_is_off_nothing_is_recorded_and_blobs_are_not_wrapped(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    tracing.disable()
    assert tracing.span("cas.hash", chunks=1) is tracing.span("blob.read")  # the shared no-op
    server = ThreadedServer(tmp_path / "store")
    with SessionClient(server.start(), token=TOKEN) as client:
        session_id = client.create_session()
        client.put_artifact(UploadHeader(session_id=session_id, name="a", type=ArtifactType.TOOL_RESULT), b"x" * 50_000)
    assert type(server.server.manager._p.content.blobs).__name__ == "SegmentBlobStore"
    server.stop()
    assert spans.get_finished_spans() == ()


def test_the_async_client_traces_calls_and_uploads_too(
    served: tuple[ThreadedServer, SessionClient], spans: InMemorySpanExporter
) -> None:
    server, _ = served

    async def work() -> int:
        async with AsyncSessionClient(server.server.address, token=TOKEN, tracing=True) as client:
            with trace.get_tracer("test").start_as_current_span("app") as app:
                session_id = await client.create_session()
                header = UploadHeader(session_id=session_id, name="a", type=ArtifactType.TOOL_RESULT)
                await client.upload_artifact(header, [b"async " * 50_000])
            return app.get_span_context().trace_id

    trace_id = asyncio.run(work())
    finished = _settled(spans, 2)
    for method in ("llmspell.sessions.v1.SessionService/CreateSession", UPLOAD.lstrip("/")):
        client_span = _one(finished, method, SpanKind.CLIENT)
        server_span = _one(finished, method, SpanKind.SERVER)
        assert client_span.context.trace_id == server_span.context.trace_id == trace_id
        assert server_span.parent is not None and server_span.parent.span_id == client_span.context.span_id
