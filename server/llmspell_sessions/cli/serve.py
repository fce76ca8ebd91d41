"""The subcommands that work on a store, not through a server: serve, check and bench."""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import socket
import sys
from typing import Any

STORE_PATH_HELP = "store directory (default $LLMSPELL_SESSION_PATH or ./.llmspell-sessions)"


class AddressInUse(Exception):
    """Another process listens on the address serve was asked to use."""

    def __init__(self, address: str) -> None:
        super().__init__(
            f"address {address} is in use (another server?): stop it, or pick another --address (port 0: any)"
        )


def add_store_commands(commands: Any) -> None:
    """Adds serve, check and bench to the command parser."""
    _add_serve(commands)
    _add_check(commands)
    _add_bench(commands)


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser("serve", help="serve the gRPC API over an embedded store")
    serve.add_argument("--address", help="HOST:PORT (default 127.0.0.1:50051; port 0 picks one)")
    serve.add_argument("--path", help=STORE_PATH_HELP)
    serve.add_argument("--backend", choices=["rocksdb", "memory", "postgres"], help="storage backend (default rocksdb)")
    serve.add_argument("--postgres-dsn", help="database of --backend postgres (default $LLMSPELL_SESSION_POSTGRES_DSN)")
    serve.add_argument("--blob-store", choices=["segments", "memory", "s3"], help="where chunk bytes go")
    serve.add_argument("--s3-endpoint", help="endpoint URL of --blob-store s3 (default $LLMSPELL_SESSION_S3_ENDPOINT)")
    serve.add_argument("--s3-bucket", help="bucket of --blob-store s3 (default $LLMSPELL_SESSION_S3_BUCKET)")
    serve.add_argument("--s3-prefix", help="object key prefix of --blob-store s3 (default none)")
    serve.add_argument("--config", help="TOML config file (default $LLMSPELL_SESSION_CONFIG)")
    serve.add_argument(
        "--workers", type=int, help="server processes sharing --address (default 1; > 1 needs --backend postgres)"
    )
    serve.add_argument(
        "--insecure", action="store_true", default=None, help="allow a non-loopback address without tokens"
    )
    serve.add_argument("--tls-cert", help="server certificate (PEM)")
    serve.add_argument("--tls-key", help="server private key (PEM)")
    serve.add_argument("--tls-client-ca", help="CA for client certificates: requires mutual TLS")
    serve.add_argument("--log-level", default="INFO")
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="stderr log lines: text (default) or one JSON object per line",
    )
    serve.add_argument("--metrics-address", help="HOST:PORT for Prometheus /metrics (default: none)")
    serve.add_argument("--console-address", help="HOST:PORT for the web console (default: none; docs/console.md)")
    serve.add_argument(
        "--access-log", action=argparse.BooleanOptionalAction, default=None, help="one INFO line per RPC (default on)"
    )
    serve.add_argument(
        "--otlp-endpoint",
        help="export OpenTelemetry traces over OTLP/gRPC to this collector URL, e.g. http://127.0.0.1:4317 "
        "(default: [tracing] in --config, else OTEL_TRACES_EXPORTER=otlp with OTEL_EXPORTER_OTLP_*; else off)",
    )
    serve.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..rpc.logs import configure_logging
    from ..rpc.server import serve

    configure_logging(args.log_level, args.log_format)
    engine_config, server_config = load_config(
        args.config,
        overrides={
            "storage_path": args.path,
            "storage_backend": args.backend,
            "postgres_dsn": args.postgres_dsn,
            "blob_store": args.blob_store,
            "s3_endpoint": args.s3_endpoint,
            "s3_bucket": args.s3_bucket,
            "s3_prefix": args.s3_prefix,
        },
        server_overrides={
            "address": args.address,
            "insecure": args.insecure,
            "tls_cert": args.tls_cert,
            "tls_key": args.tls_key,
            "tls_client_ca": args.tls_client_ca,
            "metrics_address": args.metrics_address,
            "console_address": args.console_address,
            "access_log": args.access_log,
            "workers": args.workers,
        },
        tracing_overrides={"otlp_endpoint": args.otlp_endpoint},
    )
    for address in filter(None, (server_config.address, server_config.console_address)):
        require_free_address(address)
    if server_config.workers > 1:
        from ..rpc.workers import Supervisor

        return Supervisor(engine_config, server_config, args.log_level, args.log_format).run()
    try:
        asyncio.run(serve(engine_config, server_config))
    except RuntimeError as error:  # gRPC's bind failure, when another process took the port since the check
        if "Failed to bind" in str(error):
            raise AddressInUse(server_config.address) from None
        raise
    return 0


def require_free_address(address: str) -> None:
    """Raises AddressInUse when something listens on the address (before the store is opened; gRPC's
    own bind failure is a 30-line traceback). Port 0 and names that do not resolve are left to gRPC."""
    host, _, port = address.rpartition(":")
    if not port.isdigit() or int(port) == 0:
        return
    try:
        candidates = socket.getaddrinfo(host.strip("[]") or None, int(port), type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return
    refused = []
    for family, kind, protocol, _, sockaddr in candidates:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gRPC: TIME_WAIT is no obstacle
            try:
                probe.bind(sockaddr)
                return  # gRPC serves when any of the addresses binds
            except OSError as error:
                refused.append(error.errno)
    if errno.EADDRINUSE in refused:
        raise AddressInUse(address)


def _add_check(commands: Any) -> None:
    check = commands.add_parser(
        "check", help="read-only consistency check of a store directory (exit 1 on any problem, 2 when none is there)"
    )
    check.add_argument("--path", help=STORE_PATH_HELP)
    check.add_argument(
        "--no-verify-bytes",
        dest="verify_bytes",
        action="store_false",
        help="skip reading every chunk's bytes back and checking its BLAKE3 digest",
    )
    check.add_argument("--json", action="store_true", help="machine output: counts and problems as JSON")
    check.set_defaults(run=_check)


def _check(args: argparse.Namespace) -> int:
    from ..check import StoreNotFound, check_store, format_report

    path = args.path or os.environ.get("LLMSPELL_SESSION_PATH") or ".llmspell-sessions"
    try:
        report = check_store(path, verify_bytes=args.verify_bytes)
    except StoreNotFound as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_json(), indent=2) if args.json else format_report(report))
    return 0 if report.ok else 1


def _add_bench(commands: Any) -> None:
    bench = commands.add_parser("bench", help="run the benchmarks (bench/ of a source checkout: python -m bench.run)")
    bench.add_argument("--quick", action="store_true", help="fewer samples: the whole run in < 3 minutes")
    bench.add_argument("--only", nargs="+", metavar="NAME", help="only these scenarios (bench.run --list)")
    bench.set_defaults(run=_bench)


def _bench(args: argparse.Namespace) -> int:
    """Runs `python -m bench.run` in the checkout whose bench/ is found (it is not installed)."""
    import subprocess
    from pathlib import Path

    candidates = [Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[3]]
    root = next((c for c in candidates if (c / "bench" / "run.py").is_file()), None)
    if root is None:
        print(
            "error: no bench/ directory found: run this from a source checkout of llmspell-sessions "
            f"(looked in {Path.cwd()}, its parents and {candidates[-1]})",
            file=sys.stderr,
        )
        return 2
    argv = ["--quick"] * args.quick + (["--only", *args.only] if args.only else [])
    return subprocess.call([sys.executable, "-m", "bench.run", *argv], cwd=root)
