"""`serve --otlp-endpoint` against a tiny OTLP/gRPC collector run by the test (opentelemetry-proto's
TraceService): the live server's spans arrive there, in the trace the client started."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from llmspell_sessions.client import SessionClient
from llmspell_sessions.model import ArtifactType, UploadHeader
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.helpers.server import ServerProcess


class Collector(trace_service_pb2_grpc.TraceServiceServicer):
    """Keeps every span exported to it: (trace id, span id, parent span id, name, attributes, service)."""

    def __init__(self) -> None:
        self.spans: list[dict[str, object]] = []

    def Export(  # noqa: N802 - the generated servicer's name
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        for resource_spans in request.resource_spans:
            resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    attrs = {a.key: a.value.string_value or a.value.int_value for a in span.attributes}
                    self.spans.append(
                        {
                            "trace_id": int.from_bytes(span.trace_id, "big"),
                            "span_id": int.from_bytes(span.span_id, "big"),
                            "parent": int.from_bytes(span.parent_span_id, "big") if span.parent_span_id else 0,
                            "name": span.name,
                            "attributes": attrs,
                            "service": resource.get("service.name"),
                        }
                    )
        return trace_service_pb2.ExportTraceServiceResponse()

    def wait_for(self, found: Callable[[list[dict[str, object]]], bool], timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while not found(self.spans):
            if time.monotonic() > deadline:
                raise AssertionError(f"spans received: {[s['name'] for s in self.spans]}")
            time.sleep(0.05)


@pytest.fixture
def collector() -> Iterator[tuple[Collector, int]]:
    servicer = Collector()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield servicer, port
    server.stop(0)


def test_serve_exports_spans_over_otlp_in_the_clients_trace(
    collector: tuple[Collector, int], spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    received, port = collector
    env = {"OTEL_BSP_SCHEDULE_DELAY": "50", "OTEL_SERVICE_NAME": "sessions-under-test"}
    server = ServerProcess(tmp_path / "store", env=env, args=["--otlp-endpoint", f"http://127.0.0.1:{port}"])
    server.start()
    try:
        with SessionClient(server.address, tracing=True) as client:
            with trace.get_tracer("test").start_as_current_span("app") as app:
                session_id = client.create_session()
                header = UploadHeader(session_id=session_id, name="a.txt", type=ArtifactType.TOOL_RESULT)
                client.put_artifact(header, b"exported " * 20000)
        trace_id = app.get_span_context().trace_id
        store = "llmspell.sessions.v1.ArtifactService/StoreArtifact"
        received.wait_for(lambda got: {store, "storage.commit", "blob.append"} <= {s["name"] for s in got})
        ours = [s for s in received.spans if s["trace_id"] == trace_id]
        rpc = next(s for s in ours if s["name"] == store)
        client_spans = {s.context.span_id: s for s in spans.get_finished_spans() if s.name.endswith(store)}
        assert rpc["parent"] in client_spans  # the client's span, in this process, is the parent
        assert rpc["service"] == "sessions-under-test"
        assert rpc["attributes"]["llmspell.tenant"] == "default"
        assert rpc["attributes"]["rpc.method"] == "StoreArtifact"
        below = {s["name"] for s in ours if s["parent"] != 0 and s is not rpc}
        assert {"storage.commit", "cas.chunk", "cas.hash", "blob.append"} <= below
        assert {s["trace_id"] for s in received.spans if s["name"] in ("cas.hash", "blob.append")} == {trace_id}
    finally:
        assert server.terminate() == 0


def test_configured_tracing_without_opentelemetry_is_a_clear_error(tmp_path: Path) -> None:
    """OpenTelemetry hidden from the server process: serve refuses the flag, and serves without it."""
    hide = "import sys; sys.modules['opentelemetry'] = None; from llmspell_sessions.cli import main; sys.exit(main())"
    base = [sys.executable, "-c", hide, "serve", "--address", "127.0.0.1:0", "--path", str(tmp_path / "s")]
    refused = subprocess.run(
        [*base, "--otlp-endpoint", "http://127.0.0.1:9"], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1
    assert "OpenTelemetry is not installed" in refused.stderr and "llmspell-sessions[tracing]" in refused.stderr
    served = subprocess.Popen(base, stderr=subprocess.PIPE, text=True)
    try:
        assert served.stderr is not None
        first = served.stderr.readline()  # logging goes on without the tracing it was never asked for
        assert "serving on 127.0.0.1:" in first, first
    finally:
        served.terminate()
        served.wait(20)
