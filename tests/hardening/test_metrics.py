"""The Prometheus endpoint: scraped over HTTP on loopback, its counters follow the calls made."""

from __future__ import annotations

import os
import re
import time
import urllib.request
from collections.abc import Callable

import pytest
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import SessionNotFound
from llmspell_sessions.rpc.interceptors import CallRecord
from llmspell_sessions.rpc.metrics import ServerMetrics, short_method

from tests.helpers.server import ServerProcess

_METRICS = re.compile(r"metrics on (\S+:\d+)")
_SAMPLE = re.compile(r"^(\w+)(\{[^}]*\})? (\S+)$")


def scrape(address: str) -> dict[str, float]:
    """Every sample of /metrics as {'name{labels}': value}."""
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            samples[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return samples


def metrics_address(server: ServerProcess) -> str:
    found = next((m for m in map(_METRICS.search, server.log) if m), None)
    assert found, "the server logs 'metrics on HOST:PORT' before it serves"
    return found.group(1)


def metrics_addresses(server: ServerProcess) -> list[str]:
    """Every worker's 'metrics on HOST:PORT' (one per worker process)."""
    found = [m.group(1) for m in map(_METRICS.search, list(server.log)) if m]
    assert found, "the server logs 'metrics on HOST:PORT' before it serves"
    return found


def test_counters_move_with_calls(server_factory: Callable[..., ServerProcess]) -> None:
    # One worker: each worker process counts its own calls on its own /metrics.
    server = server_factory(args=["--metrics-address", "127.0.0.1:0", "--workers", "1"])
    address = metrics_address(server)
    before = scrape(address)
    assert before['llmspell_active_sessions{tenant="default"}'] == 0
    content = os.urandom(200_000)
    with SessionClient(server.address) as c:
        sid = c.create_session(name="metrics")
        first = c.store_artifact(sid, "a.bin", content)
        c.store_artifact(sid, "b.bin", content)  # all chunks known: deduplicated
        with pytest.raises(SessionNotFound):
            c.get_session("01890000-0000-7000-8000-000000000000")
        stored = c.get_artifact_info(first).stored_size
    after = scrape(address)
    create = 'llmspell_rpc_requests_total{code="OK",method="SessionService/CreateSession"}'
    assert after[create] == 1
    assert after['llmspell_rpc_requests_total{code="OK",method="ArtifactService/StoreArtifact"}'] == 2
    assert after['llmspell_rpc_requests_total{code="NOT_FOUND",method="SessionService/GetSession"}'] == 1
    assert after['llmspell_rpc_duration_seconds_count{method="ArtifactService/StoreArtifact"}'] == 2
    assert after['llmspell_rpc_duration_seconds_sum{method="ArtifactService/StoreArtifact"}'] > 0
    assert after["llmspell_artifact_logical_bytes_total"] == 2 * len(content)
    assert after["llmspell_artifact_new_bytes_total"] == stored
    assert after["llmspell_artifact_deduplicated_bytes_total"] == stored
    assert after['llmspell_active_sessions{tenant="default"}'] == 1


def test_no_endpoint_unless_asked(server_factory: Callable[..., ServerProcess]) -> None:
    server = server_factory()
    assert not any(_METRICS.search(line) for line in server.log)


def test_observe_counts_codes_and_tenants() -> None:
    metrics = ServerMetrics(lambda tenant: {"a": 3}.get(tenant, 0), ["a"])
    metrics.observe(CallRecord("/llmspell.sessions.v1.SessionService/GetSession", time.perf_counter(), "ABORTED"))
    address = metrics.serve("127.0.0.1:0")
    try:
        samples = scrape(address)
    finally:
        metrics.close()
    assert samples['llmspell_rpc_requests_total{code="ABORTED",method="SessionService/GetSession"}'] == 1
    assert samples['llmspell_active_sessions{tenant="a"}'] == 3
    assert short_method("/grpc.health.v1.Health/Check") == "grpc.health.v1.Health/Check"
