"""Client tracing (``SessionClient(..., tracing=True)``): a CLIENT span per RPC and the W3C trace
context (traceparent/tracestate) in its metadata, so the server's spans join the caller's trace.

Spans come from opentelemetry-instrumentation-grpc's client interceptors and go to OpenTelemetry's
global tracer provider (the application configures it). The streams whose responses the client reads
as call objects (DownloadArtifact, SubscribeEvents, ReplaySession: cancelled, asked for their code)
are left out of the interceptors, which would turn them into plain generators; they still carry the
caller's current trace context (``trace_context``), so the server's spans join the trace.
"""

from __future__ import annotations

from typing import Any

import grpc

from ..errors import InvalidArgument

INSTALL_HINT = "pip install 'llmspell-sessions[tracing]'"
STREAMED_RESPONSES = ("DownloadArtifact", "SubscribeEvents", "ReplaySession")


def _instrumentation() -> Any:
    try:
        from opentelemetry.instrumentation import grpc as instrumentation
    except ImportError:
        raise InvalidArgument(f"tracing=True needs OpenTelemetry: {INSTALL_HINT}", field="tracing") from None
    return instrumentation


def _filter() -> Any:
    from opentelemetry.instrumentation.grpc import filters

    return filters.negate(filters.any_of(*(filters.method_name(m) for m in STREAMED_RESPONSES)))


def traced_channel(channel: grpc.Channel) -> grpc.Channel:
    """The blocking channel with a CLIENT span around each call (streamed responses excepted)."""
    instrumentation = _instrumentation()
    from opentelemetry.instrumentation.grpc.grpcext import intercept_channel

    return intercept_channel(channel, instrumentation.client_interceptor(filter_=_filter()))  # type: ignore[no-any-return]


def aio_interceptors() -> list[Any]:
    """The asyncio channel's interceptors: a CLIENT span around each call (streamed responses excepted)."""
    return list(_instrumentation().aio_client_interceptors(filter_=_filter()))


def trace_context() -> list[tuple[str, str]]:
    """The current span's W3C trace context as metadata pairs (none when no span is current)."""
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return list(carrier.items())
