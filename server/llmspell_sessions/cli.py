"""The llmspell-sessions command line: ``serve`` and client subcommands. It only translates."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import enum
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from .errors import LlmspellError
from .model import SessionState

Handler = Callable[[Any, argparse.Namespace], Any]
SESSION_COLUMNS = ("session_id", "name", "state", "tags", "last_event_seq", "update_time")
ARTIFACT_COLUMNS = ("artifact_id", "name", "version", "type", "size", "stored_size", "create_time")


def _is_artifacts(value: Any) -> bool:
    from .model import Artifact

    return isinstance(value, list) and bool(value) and isinstance(value[0], Artifact)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        return 2
    try:
        return int(args.run(args) or 0)
    except LlmspellError as error:
        print(f"error: {error.reason}: {error.message}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmspell-sessions", description=__doc__)
    commands = parser.add_subparsers(title="commands")
    _add_serve(commands)
    from .cli_artifacts import add_artifact_commands
    from .cli_client import add_client_commands
    from .cli_replay import add_replay_commands

    add_client_commands(commands)
    add_artifact_commands(commands)
    add_replay_commands(commands)
    _add_check(commands)
    _add_bench(commands)
    return parser


def _add_serve(commands: Any) -> None:
    serve = commands.add_parser("serve", help="serve the gRPC API over an embedded store")
    serve.add_argument("--address", help="HOST:PORT (default 127.0.0.1:50051; port 0 picks one)")
    serve.add_argument("--path", help="store directory (default $LLMSPELL_SESSION_PATH or ./.llmspell-sessions)")
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
    from .config import load_config
    from .rpc.logs import configure_logging
    from .rpc.server import serve

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
            "access_log": args.access_log,
            "workers": args.workers,
        },
        tracing_overrides={"otlp_endpoint": args.otlp_endpoint},
    )
    if server_config.workers > 1:
        from .rpc.workers import Supervisor

        return Supervisor(engine_config, server_config, args.log_level, args.log_format).run()
    asyncio.run(serve(engine_config, server_config))
    return 0


def _add_check(commands: Any) -> None:
    check = commands.add_parser(
        "check", help="read-only consistency check of a store directory (exit 1 on any problem, 2 when none is there)"
    )
    check.add_argument("--path", help="store directory (default $LLMSPELL_SESSION_PATH or ./.llmspell-sessions)")
    check.add_argument(
        "--no-verify-bytes",
        dest="verify_bytes",
        action="store_false",
        help="skip reading every chunk's bytes back and checking its BLAKE3 digest",
    )
    check.add_argument("--json", action="store_true", help="machine output: counts and problems as JSON")
    check.set_defaults(run=_check)


def _check(args: argparse.Namespace) -> int:
    import os

    from .check import StoreNotFound, check_store, format_report

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
    """Runs ``python -m bench.run`` in the checkout whose bench/ is found (it is not installed)."""
    import subprocess
    from pathlib import Path

    candidates = [Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[2]]
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


# -- output ---------------------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A JSON-ready form of domain objects."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if hasattr(value, "etag"):
            data["etag"] = value.etag
        return data
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def emit(value: Any, as_json: bool, columns: Sequence[str] | None = None) -> None:
    """Prints a result: JSON with --json, otherwise a table (lists) or key: value lines."""
    data = plain(value)
    if columns is None:
        columns = ARTIFACT_COLUMNS if _is_artifacts(value) else SESSION_COLUMNS
    if as_json:
        print(json.dumps(data, indent=2, sort_keys=True))
    elif isinstance(data, list):
        print_table(data, columns)
    elif isinstance(data, dict):
        width = max((len(k) for k in data), default=0)
        for key, item in data.items():
            shown = json.dumps(item) if isinstance(item, dict | list) else item
            print(f"{key:<{width}}  {shown}")
    elif data is not None:
        print(data)


def print_table(rows: list[dict[str, Any]], columns: Sequence[str]) -> None:
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return str(value)


def parse_state(name: str) -> SessionState:
    try:
        return SessionState[name.upper()]
    except KeyError:
        raise argparse.ArgumentTypeError(f"unknown state {name!r}") from None


if __name__ == "__main__":
    sys.exit(main())
