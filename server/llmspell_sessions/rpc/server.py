"""The grpc.aio server: wires the engine, servicers, interceptor, health and reflection."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import grpc

from .. import tracing
from .._pb import artifact_pb2, artifact_pb2_grpc, replay_pb2, session_pb2, session_pb2_grpc
from ..config import ServerConfig, SessionManagerConfig
from ..engine import SessionManager
from ..errors import InvalidArgument
from .artifact_servicer import REQUEST_READERS, ArtifactServicer
from .auth import Authenticator
from .execution import Execution
from .health import BackendProbe, add_health, add_reflection, set_status
from .interceptors import Observer, ServiceInterceptor, WrappingRegistrar
from .logs import AccessLog
from .metrics import ServerMetrics
from .replay_servicer import add_replay_service
from .session_servicer import SessionServicer

if TYPE_CHECKING:
    from ..console import Console

log = logging.getLogger("llmspell_sessions.server")
ARTIFACT_SERVICE = artifact_pb2.DESCRIPTOR.services_by_name["ArtifactService"].full_name
SERVICES = [
    session_pb2.DESCRIPTOR.services_by_name["SessionService"].full_name,
    ARTIFACT_SERVICE,
    replay_pb2.DESCRIPTOR.services_by_name["ReplayService"].full_name,
]
_LOOPBACK_HOSTS = ("localhost", "::1", "[::1]")


def is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0]
    return host in _LOOPBACK_HOSTS or host.startswith("127.")


def refuse_open_address(address: str, authenticator: Authenticator, insecure: bool) -> None:
    """The one rule for every port the server opens (gRPC, console): without tokens, loopback only
    unless --insecure says otherwise."""
    if authenticator.open and not insecure and not is_loopback(address):
        raise InvalidArgument(
            f"refusing to serve {address} without tokens: configure [[auth.tokens]] or pass --insecure"
        )


def _tune_malloc() -> None:
    """Large buffers (LZ4 over MiBs) are ~15x slower when glibc maps and unmaps them each time."""
    libc_name = ctypes.util.find_library("c")
    if not libc_name:
        return
    libc = ctypes.CDLL(libc_name)
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 256 * 1024 * 1024)
    libc.mallopt(m_trim_threshold, 512 * 1024 * 1024)


def _tenants(config: ServerConfig) -> set[str]:
    """The tenants the active-sessions gauge reports from the start (others appear once they call)."""
    return {t.tenant for t in config.tokens} or {"default"}


def _credentials(config: ServerConfig) -> grpc.ServerCredentials | None:
    if not config.tls_cert:
        if config.tls_key or config.tls_client_ca:
            raise InvalidArgument("--tls-key and --tls-client-ca need --tls-cert")
        return None
    if not config.tls_key:
        raise InvalidArgument("--tls-cert needs --tls-key")
    ca = Path(config.tls_client_ca).read_bytes() if config.tls_client_ca else None
    pair = (Path(config.tls_key).read_bytes(), Path(config.tls_cert).read_bytes())
    return grpc.ssl_server_credentials([pair], root_certificates=ca, require_client_auth=ca is not None)


class Server:
    """One running service: the engine plus the gRPC server in front of it."""

    def __init__(
        self, engine_config: SessionManagerConfig, config: ServerConfig, execution: Execution | None = None
    ) -> None:
        self.config = config
        self.authenticator = Authenticator(config.tokens)
        for address in filter(None, (config.address, config.console_address)):
            refuse_open_address(address, self.authenticator, config.insecure)
        self.manager = SessionManager(engine_config)
        options = [
            ("grpc.max_receive_message_length", config.max_message_size),
            ("grpc.max_send_message_length", config.max_message_size),
            # Workers of one `serve --workers N` share the port; a lone server must own it (a
            # second one on the same port is an error, not a silent split of the traffic).
            ("grpc.so_reuseport", 1 if config.workers > 1 else 0),
        ]
        metrics_on = bool(config.metrics_address)
        self.metrics = (
            ServerMetrics(self.manager.active_sessions, _tenants(config), self.manager.retention_totals)
            if metrics_on
            else None
        )
        observers: list[Observer] = [self.metrics.observe] if self.metrics else []
        observers += [AccessLog()] if config.access_log else []
        self.observers = tuple(observers)
        self.execution = execution or Execution()
        self.execution.bind_inline(self.manager.inline_transaction)
        self.grpc = grpc.aio.server(options=options)
        self.health = add_health(self.grpc)
        self.probe = BackendProbe(
            self.health,
            [(self.manager.ping_storage, ("", *SERVICES)), (self.manager.ping_blobs, (ARTIFACT_SERVICE,))],
        )
        self.interceptor = ServiceInterceptor(self.authenticator, observers, self.execution, self.probe.admit)
        # Health and reflection stay unwrapped.
        services = WrappingRegistrar(self.grpc, self.interceptor, REQUEST_READERS)
        session_pb2_grpc.add_SessionServiceServicer_to_server(SessionServicer(self.manager, self.execution), services)
        artifact_pb2_grpc.add_ArtifactServiceServicer_to_server(
            ArtifactServicer(self.manager, config.max_message_size, self.execution), services
        )
        add_replay_service(services, self.manager)
        add_reflection(self.grpc, SERVICES)
        credentials = _credentials(config)
        if credentials is None:
            self.port = self.grpc.add_insecure_port(config.address)
        else:
            self.port = self.grpc.add_secure_port(config.address, credentials)
        self.address = f"{config.address.rsplit(':', 1)[0]}:{self.port}"
        self.console: Console | None = None
        if config.console_address:
            from ..console import Console  # aiohttp is imported only when the console is on

            self.console = Console(self)

    async def start(self) -> None:
        await self.grpc.start()
        await set_status(self.health, SERVICES, serving=True)
        self.probe.start()
        if self.metrics is not None:
            log.info("metrics on %s", self.metrics.serve(self.config.metrics_address))
        if self.console is not None:
            log.info("console on %s", await self.console.start(self.config.console_address))
        if self.config.workers > 1:  # the supervising parent says "serving on" once, for all workers
            log.info("worker %d ready on %s", os.getpid(), self.address)
        else:
            log.info("serving on %s", self.address)

    async def stop(self) -> None:
        """NOT_SERVING; new calls refused and open-ended streams (subscriptions, replays) ended with
        UNAVAILABLE; the other calls in flight drained for the grace period while the port stays open
        (a health check then reads NOT_SERVING, not a refused connection); then close the store."""
        await self.probe.stop()
        await set_status(self.health, SERVICES, serving=False)
        self.interceptor.begin_drain()
        started = time.monotonic()
        if self.console is not None:
            await self.console.stop()
        await self.interceptor.drained(self.config.grace_period)
        remaining = max(0.0, self.config.grace_period - (time.monotonic() - started))
        await self.grpc.stop(remaining)  # closes the port; whatever is still in flight is cancelled after remaining
        self.execution.close()
        if self.metrics is not None:
            self.metrics.close()
        self.manager.close()


async def serve(
    engine_config: SessionManagerConfig, config: ServerConfig, on_ready: Callable[[Server], None] | None = None
) -> None:
    """Runs until SIGTERM or SIGINT, then stops gracefully."""
    _tune_malloc()
    if tracing.configure(config.tracing):  # before the engine: its blob store is traced when built
        log.info("tracing: exporting spans over OTLP")
    server = Server(engine_config, config)
    await server.start()
    if on_ready is not None:
        on_ready(server)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    log.info("stopping: draining in-flight calls")
    await server.stop()
    tracing.shutdown()  # flushes the spans still batched
    log.info("stopped")
