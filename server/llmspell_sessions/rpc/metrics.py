"""Prometheus metrics: requests and latency per method, artifact bytes, active sessions.

The interceptor hands every finished call to ``ServerMetrics.observe``; the active-session gauge is
read from the engine's persistent counters when Prometheus scrapes, so it costs nothing per call.
Each server owns its registry, so several servers in one process never share or clash.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .._pb import common_pb2
from .interceptors import CallRecord

log = logging.getLogger(__name__)
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_PACKAGE_PREFIX = "/llmspell.sessions.v1."
ARTIFACT_WRITES = frozenset(f"ArtifactService/{name}" for name in ("UploadArtifact", "StoreArtifact", "CommitArtifact"))


def short_method(method: str) -> str:
    """``/llmspell.sessions.v1.SessionService/CreateSession`` → ``SessionService/CreateSession``."""
    return method[len(_PACKAGE_PREFIX) :] if method.startswith(_PACKAGE_PREFIX) else method.lstrip("/")


class ActiveSessionsCollector(Collector):
    """The gauge of ACTIVE sessions per tenant, read from the engine when scraped."""

    def __init__(self, active_sessions: Callable[[str], int], tenants: Iterable[str]) -> None:
        self._active_sessions = active_sessions
        self.tenants: set[str] = set(tenants)

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily("llmspell_active_sessions", "ACTIVE sessions per tenant", labels=["tenant"])
        for tenant in sorted(self.tenants):
            try:
                gauge.add_metric([tenant], self._active_sessions(tenant))
            except Exception:  # noqa: BLE001 - a closed or failing store must not break the scrape
                log.debug("cannot read active sessions of %s", tenant, exc_info=True)
        yield gauge


class RetentionCollector(Collector):
    """What retention archived, deleted and expired since the server started, read when scraped."""

    def __init__(self, totals: Callable[[], dict[str, int]]) -> None:
        self._totals = totals

    def collect(self) -> Iterator[Metric]:
        counter = CounterMetricFamily(
            "llmspell_retention",
            "Sessions archived and deleted, artifact versions expired by retention",
            labels=["action"],
        )
        for action, count in sorted(self._totals().items()):
            counter.add_metric([action], count)
        yield counter


class ServerMetrics:
    """The server's metrics in their own registry, and the HTTP endpoint that exposes them."""

    def __init__(
        self,
        active_sessions: Callable[[str], int],
        tenants: Iterable[str] = (),
        retention: Callable[[], dict[str, int]] = dict,
    ) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "llmspell_rpc_requests",
            "RPCs served, by method and gRPC code",
            ["method", "code"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "llmspell_rpc_duration_seconds",
            "RPC latency (to the end of the stream for streams)",
            ["method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.logical_bytes = Counter(
            "llmspell_artifact_logical_bytes", "Logical bytes of artifacts written", registry=self.registry
        )
        self.stored_bytes = Counter(
            "llmspell_artifact_stored_bytes",
            "Bytes the written artifacts' chunks occupy (compressed)",
            registry=self.registry,
        )
        self.new_bytes = Counter(
            "llmspell_artifact_new_bytes", "Bytes artifact writes added to the store", registry=self.registry
        )
        self.deduplicated_bytes = Counter(
            "llmspell_artifact_deduplicated_bytes",
            "Stored bytes artifact writes found already present",
            registry=self.registry,
        )
        self.sessions = ActiveSessionsCollector(active_sessions, tenants)
        self.registry.register(self.sessions)
        self.registry.register(RetentionCollector(retention))
        self._http: Any = None
        self._thread: threading.Thread | None = None

    def observe(self, call: CallRecord) -> None:
        """Counts one finished call (an interceptor observer)."""
        method = short_method(call.method)
        self.requests.labels(method, call.code).inc()
        self.latency.labels(method).observe(call.duration)
        if call.caller is not None:
            self.sessions.tenants.add(call.caller.tenant)
        if method in ARTIFACT_WRITES and isinstance(call.response, common_pb2.Artifact):
            self.observe_artifact(call.response.size, call.response.stored_size, call.response.new_bytes)

    def observe_artifact(self, size: int, stored_size: int, new_bytes: int) -> None:
        """Counts the bytes of one artifact write: its logical size, stored size and what was new."""
        self.logical_bytes.inc(max(size, 0))
        self.stored_bytes.inc(max(stored_size, 0))
        self.new_bytes.inc(max(new_bytes, 0))
        self.deduplicated_bytes.inc(max(stored_size - new_bytes, 0))

    def serve(self, address: str) -> str:
        """Starts the HTTP endpoint on HOST:PORT (port 0 picks one); returns the bound HOST:PORT."""
        host, _, port = address.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        self._http, self._thread = start_http_server(int(port), addr=host, registry=self.registry)
        return f"{host}:{self._http.server_port}"

    def close(self) -> None:
        """Stops the HTTP endpoint (idempotent)."""
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
