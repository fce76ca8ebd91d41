"""Tracing: OpenTelemetry spans for every RPC and the engine's few heavy steps, off unless configured.

The engine calls only ``span(name, **attrs)``, at a few places (the unit of work's commit, chunking,
hashing and compression, blob I/O): while tracing is off that is one global read returning a shared
no-op context manager, and OpenTelemetry is never imported. ``enable()`` (tests, embedding) or
``configure()`` (``serve`` with a ``[tracing]`` table, ``--otlp-endpoint`` or ``OTEL_*``) turn it on;
OpenTelemetry is the optional extra ``tracing``.

The RPC layer opens each call's SERVER span with ``rpc_span``, its parent taken from the W3C trace
context (``traceparent``/``tracestate``) in the call's metadata.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .errors import InvalidArgument

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span, Tracer

    from .config import TracingConfig

TRACER_NAME = "llmspell_sessions"
INSTALL_HINT = "pip install 'llmspell-sessions[tracing]'"
# gRPC codes that are the server's fault (OpenTelemetry's semantic conventions for RPC servers);
# the others (NOT_FOUND, INVALID_ARGUMENT...) are the caller's and leave the span's status unset.
SERVER_ERRORS = frozenset({"UNKNOWN", "DEADLINE_EXCEEDED", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS"})
_NOOP: contextlib.nullcontext[None] = contextlib.nullcontext()
_tracer: Tracer | None = None
_owned: TracerProvider | None = None  # the provider configure() made (flushed by shutdown())


def enabled() -> bool:
    """Whether spans are being recorded."""
    return _tracer is not None


def span(name: str, **attrs: Any) -> contextlib.AbstractContextManager[Any]:
    """A child span of the current one while tracing is on; a shared no-op otherwise."""
    tracer = _tracer
    if tracer is None:
        return _NOOP
    return tracer.start_as_current_span(name, attributes=attrs or None)


def rpc_span(method: str, metadata: Iterable[tuple[str, Any]] | None) -> contextlib.AbstractContextManager[Any]:
    """The SERVER span of one call to ``/package.Service/Method``, current while it runs (a no-op
    yielding None while tracing is off)."""
    tracer = _tracer
    if tracer is None:
        return _NOOP
    from opentelemetry import propagate
    from opentelemetry.trace import SpanKind

    carrier = {k: v for k, v in metadata or () if isinstance(v, str)}
    service, _, name = method.lstrip("/").partition("/")
    attrs = {"rpc.system": "grpc", "rpc.service": service, "rpc.method": name}
    return tracer.start_as_current_span(
        method.lstrip("/"),
        context=propagate.extract(carrier),
        kind=SpanKind.SERVER,
        attributes=attrs,
        record_exception=False,  # an error is a status here (finish_rpc), not an exception
        set_status_on_exception=False,
    )


def finish_rpc(current: Span | None, code: str) -> None:
    """Records a call's gRPC status on its span."""
    if current is None:
        return
    from opentelemetry.trace import StatusCode

    current.set_attribute("rpc.grpc.status_code", _CODES.get(code, 2))
    if code in SERVER_ERRORS:
        current.set_status(StatusCode.ERROR, code)


def annotate(current: Span | None, attrs: Mapping[str, Any]) -> None:
    """Adds attributes to a span (no-op for None)."""
    if current is not None:
        current.set_attributes(dict(attrs))


def enable(provider: Any = None) -> None:
    """Records spans with provider (default: OpenTelemetry's global one), e.g. an SDK TracerProvider
    with an InMemorySpanExporter in tests, or an application's own when embedding SessionManager."""
    global _tracer
    trace = _import_api()
    _tracer = trace.get_tracer(TRACER_NAME, tracer_provider=provider)


def disable() -> None:
    """Stops recording (spans already open end normally)."""
    global _tracer
    _tracer = None


def configure(config: TracingConfig, environ: Mapping[str, str] | None = None) -> bool:
    """Turns tracing on as config and the OTEL_* environment say: an SDK provider exporting over
    OTLP/gRPC in batches. Returns whether it is on; InvalidArgument if it should be but the
    OpenTelemetry SDK or exporter is not installed."""
    global _owned
    environ = os.environ if environ is None else environ
    if not config.active(environ):
        return False
    _import_api()
    try:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        message = f"tracing is configured but {exc.name} is missing: {INSTALL_HINT}"
        raise InvalidArgument(message, field="tracing") from exc
    service = environ.get("OTEL_SERVICE_NAME") or config.service_name or "llmspell-sessions"
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    exporter = OTLPSpanExporter(endpoint=config.otlp_endpoint or None)  # None: OTEL_EXPORTER_OTLP_* or default
    provider.add_span_processor(BatchSpanProcessor(exporter))
    _owned = provider
    enable(provider)
    return True


def shutdown() -> None:
    """Stops recording and flushes the spans configure()'s exporter still holds."""
    global _owned
    disable()
    if _owned is not None:
        _owned.shutdown()
        _owned = None


def _import_api() -> Any:
    try:
        from opentelemetry import trace
    except ImportError:
        raise InvalidArgument(f"tracing is configured but OpenTelemetry is not installed: {INSTALL_HINT}") from None
    return trace


_CODES = {
    name: number
    for number, name in enumerate(
        "OK CANCELLED UNKNOWN INVALID_ARGUMENT DEADLINE_EXCEEDED NOT_FOUND ALREADY_EXISTS PERMISSION_DENIED "
        "RESOURCE_EXHAUSTED FAILED_PRECONDITION ABORTED OUT_OF_RANGE UNIMPLEMENTED INTERNAL UNAVAILABLE "
        "DATA_LOSS UNAUTHENTICATED".split()
    )
}
