"""SessionClient: the blocking gRPC client, with the embedded API's method names."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

import grpc

from .._pb import artifact_pb2_grpc, replay_pb2_grpc, session_pb2_grpc
from ._api import ClientApi
from ._archive_api import SyncArchives
from ._artifact_api import ArtifactClientApi
from ._replay_api import ReplayClientApi, SyncReplayStreams
from ._sync_streams import SyncStreams
from .channel import ConnectionOptions
from .errors import error_from_rpc
from .tracing import traced_channel

T = TypeVar("T")


class SessionClient(SyncArchives, SyncReplayStreams, SyncStreams, ReplayClientApi, ArtifactClientApi, ClientApi):
    """A blocking client; errors are raised as the same LlmspellError classes as in-process."""

    def __init__(
        self, target: str = "", *, token: str = "", timeout: float | None = 30.0, tracing: bool = False, **tls: Any
    ) -> None:
        """tracing=True: a CLIENT span per call, the trace context sent along (needs the tracing extra)."""
        self.options = ConnectionOptions(target=target, token=token, tracing=tracing, **tls)
        credentials = self.options.credentials()
        address, channel_options = self.options.resolved_target(), self.options.channel_options()
        if credentials is None:
            self.channel = grpc.insecure_channel(address, options=channel_options)
        else:
            self.channel = grpc.secure_channel(address, credentials, options=channel_options)
        if tracing:
            self.channel = traced_channel(self.channel)
        self.timeout = timeout
        self._stubs = {
            "session": session_pb2_grpc.SessionServiceStub(self.channel),
            "artifact": artifact_pb2_grpc.ArtifactServiceStub(self.channel),
            "replay": replay_pb2_grpc.ReplayServiceStub(self.channel),
        }

    def stub(self, service: str) -> Any:
        return self._stubs[service]

    def _call(self, service: str, method: str, request: Any, decode: Callable[[Any], T]) -> T:
        try:
            response = getattr(self._stubs[service], method)(
                request, timeout=self.timeout, metadata=self.options.metadata()
            )
        except grpc.RpcError as exc:
            raise error_from_rpc(exc) from None
        return decode(response)

    def close(self) -> None:
        self.channel.close()

    def __enter__(self) -> SessionClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
