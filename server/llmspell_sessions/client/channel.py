"""Connection settings shared by the sync and async clients."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

DEFAULT_TARGET = "127.0.0.1:50051"
MAX_MESSAGE_SIZE = 16 * 1024 * 1024


@dataclass(frozen=True)
class ConnectionOptions:
    """Where and how to connect; defaults come from LLMSPELL_SESSION_ADDRESS / _TOKEN."""

    target: str = ""
    token: str = ""
    tls: bool = False
    root_certificates: str = ""
    client_cert: str = ""
    client_key: str = ""
    server_name: str = ""
    tracing: bool = False
    """Client spans and W3C trace context in every call's metadata (see client/tracing.py)."""

    def resolved_target(self) -> str:
        return self.target or os.environ.get("LLMSPELL_SESSION_ADDRESS") or DEFAULT_TARGET

    def metadata(self, correlation_id: str = "") -> list[tuple[str, str]]:
        token = self.token or os.environ.get("LLMSPELL_SESSION_TOKEN", "")
        pairs = [("authorization", f"Bearer {token}")] if token else []
        if correlation_id:
            pairs.append(("x-correlation-id", correlation_id))
        if self.tracing:  # the caller's trace context; a call's client span replaces it with its own
            from .tracing import trace_context

            pairs += trace_context()
        return pairs

    def channel_options(self) -> list[tuple[str, Any]]:
        options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", MAX_MESSAGE_SIZE),
            ("grpc.max_send_message_length", MAX_MESSAGE_SIZE),
        ]
        if self.server_name:
            options.append(("grpc.ssl_target_name_override", self.server_name))
        return options

    def credentials(self) -> grpc.ChannelCredentials | None:
        if not (self.tls or self.root_certificates or self.client_cert):
            return None

        def read(path: str) -> bytes | None:
            return Path(path).read_bytes() if path else None

        return grpc.ssl_channel_credentials(read(self.root_certificates), read(self.client_key), read(self.client_cert))
