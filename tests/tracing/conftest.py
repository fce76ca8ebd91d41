"""Tracing fixtures: OpenTelemetry's global tracer provider (the client's spans go there), recording
into memory, and the server's tracing switched on with the same provider for one test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("opentelemetry.sdk", reason="the tracing extra is not installed")

from llmspell_sessions import tracing  # noqa: E402
from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="session")
def provider() -> TracerProvider:
    """The process's global tracer provider (set once: OpenTelemetry allows no second one)."""
    current = trace.get_tracer_provider()
    if not isinstance(current, TracerProvider):
        current = TracerProvider()
        trace.set_tracer_provider(current)
    current.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    return current


@pytest.fixture
def spans(provider: TracerProvider) -> Iterator[InMemorySpanExporter]:
    """The exporter every span of this test ends up in; the server's tracing is on meanwhile."""
    _EXPORTER.clear()
    tracing.enable(provider)
    yield _EXPORTER
    tracing.disable()
    _EXPORTER.clear()
