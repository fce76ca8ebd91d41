"""Configuration: frozen dataclasses loaded from defaults, a TOML file, environment and flags.

Precedence, lowest first: defaults, the TOML file, ``LLMSPELL_SESSION_*`` environment variables,
explicit overrides (command-line flags or keyword arguments).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidArgument

ENV_PREFIX = "LLMSPELL_SESSION_"
MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class SessionManagerConfig:
    """The engine's configuration; every field can be set in TOML or as LLMSPELL_SESSION_<FIELD>."""

    max_sessions: int = 10_000
    """ACTIVE sessions allowed per tenant; creating or resuming past it fails RESOURCE_EXHAUSTED. The
    default is far above what one team's agents keep open (a load test of a few thousand calls does
    not reach it); it bounds a runaway client. Lower it per tenant budget on a shared server."""
    max_artifacts_per_session: int = 1000
    """Live artifacts (all versions) per session."""
    max_session_bytes: int = 1 * GiB
    """Logical artifact bytes per session."""
    max_artifact_size: int = 100 * MiB
    """Largest single artifact, in bytes."""
    max_tenant_bytes: int = 0
    """Logical artifact bytes per tenant, over all its sessions; 0 = no quota."""
    session_timeout: float = 3600.0
    """Seconds an ACTIVE session may live (counted from its last activation) before it is FAILED
    with reason "timeout"; 0 = never."""
    idle_timeout: float = 900.0
    """Seconds an ACTIVE session may go without a mutation before it is SUSPENDED; 0 = never."""
    artifact_compression_threshold: int = 10240
    """Chunks larger than this many bytes are stored LZ4-compressed when that makes them smaller (the
    decision depends on the chunk alone, so a stored size never reveals who stored a chunk first)."""
    storage_backend: str = "rocksdb"
    """"rocksdb" (durable, default), "memory" (tests and throwaway use) or "postgres" (records in the
    PostgreSQL database named by postgres_dsn; chunk bytes where blob_store says)."""
    storage_path: str = ".llmspell-sessions"
    """Directory of the RocksDB store (env LLMSPELL_SESSION_PATH); with postgres, of the chunk segment files."""
    postgres_dsn: str = ""
    """libpq connection string or URI of the database for storage_backend "postgres", e.g.
    "host=db.internal dbname=sessions user=llmspell" (env LLMSPELL_SESSION_POSTGRES_DSN). The tables are
    created on first use, in schema llmspell_sessions."""
    blob_store: str = ""
    """Where chunk bytes go: "segments" (files under storage_path; the default for rocksdb and postgres),
    "memory" (the default for the memory backend) or "s3" (an S3-compatible object store: s3_endpoint,
    s3_bucket, credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_REGION); "" = the default."""
    s3_endpoint: str = ""
    """URL of the S3-compatible endpoint for blob_store "s3", e.g. "http://127.0.0.1:8333"
    (env LLMSPELL_SESSION_S3_ENDPOINT); requests use path-style addressing."""
    s3_bucket: str = ""
    """Bucket of the chunk objects (env LLMSPELL_SESSION_S3_BUCKET); created at start when missing."""
    s3_prefix: str = ""
    """Prefix of every object key (objects are "<prefix>chunks/<hex digest>"), to share a bucket."""
    rate_limit_per_session: float = 0.0
    """Mutations per minute per session (token bucket, burst 1.5x); 0 = off (the default: an agent
    loop or a benchmark writes as fast as it runs). Set it on a server shared by untrusted clients."""
    rate_limit_global: float = 0.0
    """Requests per minute per tenant, counted per server process (token bucket, burst 1.5x); 0 = off
    (the default: any fixed rate is one a polling loop or a load test reaches). Set it on a server
    shared between teams, to keep one tenant from taking the others' capacity."""
    auto_checkpoint_every: int = 1000
    """Store a materialised checkpoint every N events (so time travel replays at most N); 0 = off."""
    hooks: tuple[str, ...] = ()
    """Hooks to load, each "module:attr"."""
    sweep_interval: float = 1.0
    """Seconds between background sweeps for idle and lifetime timeouts."""
    segment_bytes: int = 256 * MiB
    """Size at which a chunk segment file is closed and a new one started."""
    segment_compaction_ratio: float = 0.5
    """A closed segment whose dead bytes reach this share of its size is compacted (live chunks moved)."""
    chunk_gc_grace: float = 300.0
    """Seconds an unreferenced chunk is kept before garbage collection deletes it."""
    session_cache_size: int = 10000
    """Session records kept in memory (the working set): reads of cached sessions skip the store."""
    max_state_bytes: int = 8 * MiB
    """Total bytes of one session's key-value state (keys and JSON values); keeps every read that
    returns the whole state (LoadSession, GetSnapshot) within one message."""
    replay_idle_timeout: float = 600.0
    """Seconds a replay may wait for a control (paused, stepping) before it ends as STOPPED."""
    maintenance_interval: float = 60.0
    """Seconds between background passes of upload expiry, chunk garbage collection and compaction."""
    max_archive_bytes: int = 4 * 1024 * MiB
    """The largest archive ImportSessions accepts: a stream is spooled to a temporary file before it is
    verified, so this bounds the disk one import can take."""
    retention_archive_after: float = 0.0
    """Seconds after a session ended (COMPLETED or FAILED) that retention archives it; 0 = off."""
    retention_delete_after: float = 0.0
    """Seconds after a session ended (COMPLETED, FAILED or ARCHIVED) that retention deletes it; 0 = off."""
    retention_keep_versions: int = 0
    """Artifact versions kept per name in sessions that are not archived; older ones are deleted; 0 = off."""

    def validate(self) -> SessionManagerConfig:
        """Checks every field and returns self; raises InvalidArgument naming the bad field."""
        for name in (
            "max_sessions",
            "max_artifacts_per_session",
            "max_session_bytes",
            "max_artifact_size",
            "max_archive_bytes",
        ):
            if getattr(self, name) < 1:
                raise InvalidArgument(f"{name} must be >= 1", field=name)
        if self.max_tenant_bytes < 0:
            raise InvalidArgument("max_tenant_bytes must be >= 0", field="max_tenant_bytes")
        for name in ("session_timeout", "idle_timeout", "rate_limit_per_session", "rate_limit_global"):
            if getattr(self, name) < 0:
                raise InvalidArgument(f"{name} must be >= 0", field=name)
        if self.artifact_compression_threshold < 0 or self.auto_checkpoint_every < 0:
            raise InvalidArgument("artifact_compression_threshold and auto_checkpoint_every must be >= 0")
        if self.storage_backend not in ("rocksdb", "memory", "postgres"):
            raise InvalidArgument("storage_backend must be 'rocksdb', 'memory' or 'postgres'", field="storage_backend")
        if self.storage_backend == "postgres" and not self.postgres_dsn:
            raise InvalidArgument("storage_backend 'postgres' needs postgres_dsn", field="postgres_dsn")
        if self.blob_store not in ("", "segments", "memory", "s3"):
            raise InvalidArgument("blob_store must be 'segments', 'memory' or 's3'", field="blob_store")
        for name in ("s3_endpoint", "s3_bucket"):
            if self.blob_store == "s3" and not getattr(self, name):
                raise InvalidArgument(f"blob_store 's3' needs {name}", field=name)
        if self.segment_bytes < 1024 or not 0 < self.segment_compaction_ratio <= 1:
            raise InvalidArgument("segment_bytes must be >= 1024 and segment_compaction_ratio in (0, 1]")
        if self.max_state_bytes < 1 or self.replay_idle_timeout <= 0 or self.maintenance_interval <= 0:
            raise InvalidArgument("max_state_bytes must be >= 1, replay_idle_timeout and maintenance_interval > 0")
        for name in ("retention_archive_after", "retention_delete_after", "retention_keep_versions"):
            if getattr(self, name) < 0:
                raise InvalidArgument(f"{name} must be >= 0 (0 = off)", field=name)
        if 0 < self.retention_delete_after <= self.retention_archive_after:
            raise InvalidArgument(
                "retention_delete_after must be longer than retention_archive_after", field="retention_delete_after"
            )
        if self.sweep_interval <= 0 or self.session_cache_size < 0:
            raise InvalidArgument("sweep_interval must be > 0 and session_cache_size >= 0")
        return self


@dataclass(frozen=True)
class TokenConfig:
    """One accepted bearer token, stored by its SHA-256 (hex)."""

    sha256: str
    subject: str
    tenant: str = "default"
    role: str = "writer"


@dataclass(frozen=True)
class TracingConfig:
    """OpenTelemetry tracing (the ``[tracing]`` table, ``serve --otlp-endpoint``): off unless an
    exporter is named here or by OTEL_TRACES_EXPORTER=otlp. The exporter, sampler and batching also
    read the standard OTEL_* variables (OTEL_EXPORTER_OTLP_*, OTEL_TRACES_SAMPLER, OTEL_BSP_*...)."""

    exporter: str = ""
    """"otlp" exports spans over OTLP/gRPC; "none" turns tracing off whatever the environment says;
    "" (default) = "otlp" when otlp_endpoint is set or OTEL_TRACES_EXPORTER is "otlp", else off."""
    otlp_endpoint: str = ""
    """Collector URL, e.g. "http://127.0.0.1:4317" (http:// = plaintext, https:// = TLS); "" =
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT, else the exporter's default."""
    service_name: str = "llmspell-sessions"
    """The service.name of every span (OTEL_SERVICE_NAME wins)."""

    def active(self, environ: Mapping[str, str]) -> bool:
        """Whether spans are exported (OTEL_SDK_DISABLED=true turns it off)."""
        if self.exporter == "none" or environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
            return False
        named = environ.get("OTEL_TRACES_EXPORTER", "").split(",")
        return self.exporter == "otlp" or bool(self.otlp_endpoint) or "otlp" in named

    def validate(self) -> TracingConfig:
        if self.exporter not in ("", "otlp", "none"):
            raise InvalidArgument("tracing exporter must be 'otlp' or 'none'", field="exporter")
        return self


@dataclass(frozen=True)
class ServerConfig:
    """The server's own settings, beside the engine's."""

    address: str = "127.0.0.1:50051"
    """HOST:PORT to listen on; port 0 picks a free port."""
    insecure: bool = False
    """Allow serving without tokens on a non-loopback address."""
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""
    """CA bundle for client certificates: set it to require mutual TLS."""
    max_message_size: int = 16 * MiB
    """Largest gRPC message accepted or sent."""
    grace_period: float = 10.0
    """Seconds in-flight calls get to finish on SIGTERM."""
    metrics_address: str = ""
    """HOST:PORT of the Prometheus /metrics endpoint; empty = no endpoint, port 0 picks one."""
    console_address: str = ""
    """HOST:PORT of the web console (HTTP, docs/console.md); empty = no console, port 0 picks one.
    Like the gRPC address: loopback only unless tokens are configured (or insecure is set)."""
    access_log: bool = True
    """Log one INFO line per RPC (method, code, duration, correlation id, tenant, subject)."""
    tokens: tuple[TokenConfig, ...] = field(default_factory=tuple)
    tracing: TracingConfig = field(default_factory=TracingConfig)
    """The [tracing] table."""
    workers: int = 1
    """Server processes sharing the address (SO_REUSEPORT) under one supervising parent; > 1 needs
    the shared backend (postgres) and a shared blob store (s3). Each worker has its own rate-limit
    buckets."""

    def validate(self, engine: SessionManagerConfig) -> ServerConfig:
        """Checks the fields (and that workers > 1 has a backend they can share); returns self."""
        if self.workers < 1:
            raise InvalidArgument("workers must be >= 1", field="workers")
        if self.workers > 1 and engine.storage_backend != "postgres":
            why = {"rocksdb": "RocksDB is opened by one process", "memory": "the memory backend lives in one process"}
            raise InvalidArgument(
                f"--workers > 1 needs a shared backend (--backend postgres): {why[engine.storage_backend]}",
                field="workers",
            )
        if self.workers > 1 and self.console_address:
            raise InvalidArgument("the console runs in a single server process: drop --workers", field="workers")
        if self.workers > 1 and engine.blob_store in ("", "segments"):
            # Each process would append to the segment files tracking its own end of file: chunk
            # locations would collide and artifacts read back wrong bytes (caught as DataLoss).
            raise InvalidArgument(
                "--workers > 1 needs a shared blob store (--blob-store s3): segment files are written by one process",
                field="workers",
            )
        return self


_ENV_ALIASES = {"PATH": "storage_path", "BACKEND": "storage_backend"}  # the rest: LLMSPELL_SESSION_<FIELD>


def _coerce(cls: type, name: str, raw: Any) -> Any:
    default = next(f for f in dataclasses.fields(cls) if f.name == name).default
    try:
        if isinstance(default, bool):
            return raw if isinstance(raw, bool) else str(raw).lower() in ("1", "true", "yes", "on")
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
        if isinstance(default, tuple):
            return tuple(raw.split(",") if isinstance(raw, str) else raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"config {name}: cannot use {raw!r}: {exc}", field=name) from exc


def _apply(cls: type, base: Any, values: Mapping[str, Any], source: str) -> Any:
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise InvalidArgument(f"unknown configuration keys in {source}: {sorted(unknown)}")
    return dataclasses.replace(base, **{k: _coerce(cls, k, v) for k, v in values.items()})


def _environment(environ: Mapping[str, str]) -> dict[str, str]:
    names = {f.name for f in dataclasses.fields(SessionManagerConfig)}
    found = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        suffix = key[len(ENV_PREFIX) :]
        name = _ENV_ALIASES.get(suffix, suffix.lower())
        if name in names:
            found[name] = value
    return found


def load_config(
    config_file: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    server_overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    tracing_overrides: Mapping[str, Any] | None = None,
) -> tuple[SessionManagerConfig, ServerConfig]:
    """Loads both configs: defaults < TOML file < environment < overrides (None values are ignored).
    The [tracing] table and tracing_overrides go to ServerConfig.tracing."""
    environ = os.environ if environ is None else environ
    config_file = config_file or environ.get(ENV_PREFIX + "CONFIG") or None
    document: dict[str, Any] = {}
    if config_file:
        try:
            document = tomllib.loads(Path(config_file).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise InvalidArgument(f"cannot read config file {config_file}: {exc}") from exc
    server_table = dict(document.pop("server", {}))
    auth_table = dict(document.pop("auth", {}))
    tokens = tuple(TokenConfig(**t) for t in auth_table.pop("tokens", []))
    if auth_table:
        raise InvalidArgument(f"unknown keys in [auth]: {sorted(auth_table)}")
    tracing = _apply(TracingConfig, TracingConfig(), dict(document.pop("tracing", {})), f"{config_file} [tracing]")
    tracing = _apply(TracingConfig, tracing, _present(tracing_overrides), "flags").validate()
    engine = _apply(SessionManagerConfig, SessionManagerConfig(), document, str(config_file))
    engine = _apply(SessionManagerConfig, engine, _environment(environ), "environment")
    engine = _apply(SessionManagerConfig, engine, _present(overrides), "overrides")
    server = _apply(ServerConfig, ServerConfig(tokens=tokens, tracing=tracing), server_table, f"{config_file} [server]")
    server = _apply(ServerConfig, server, _present(server_overrides), "flags")
    engine = engine.validate()
    return engine, server.validate(engine)


def _present(values: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (values or {}).items() if v is not None}
