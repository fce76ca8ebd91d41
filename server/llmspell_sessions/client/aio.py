"""AsyncSessionClient: the asyncio gRPC client; every method is awaited."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, TypeVar

import grpc

from .._pb import artifact_pb2_grpc, replay_pb2_grpc, session_pb2_grpc
from ._api import ClientApi
from ._archive_api import AsyncArchives
from ._artifact_api import ArtifactClientApi
from ._async_streams import AsyncStreams
from ._replay_api import AsyncReplayStreams, ReplayClientApi
from .channel import ConnectionOptions
from .errors import error_from_status
from .tracing import aio_interceptors

T = TypeVar("T")


class AsyncSessionClient(
    AsyncArchives, AsyncReplayStreams, AsyncStreams, ReplayClientApi, ArtifactClientApi, ClientApi
):
    """An asyncio client with the same method names as SessionClient and SessionManager."""

    def __init__(
        self, target: str = "", *, token: str = "", timeout: float | None = 30.0, tracing: bool = False, **tls: Any
    ) -> None:
        """tracing=True: a CLIENT span per call, the trace context sent along (needs the tracing extra)."""
        self.options = ConnectionOptions(target=target, token=token, tracing=tracing, **tls)
        credentials = self.options.credentials()
        address, channel_options = self.options.resolved_target(), self.options.channel_options()
        interceptors = aio_interceptors() if tracing else None
        if credentials is None:
            self.channel = grpc.aio.insecure_channel(address, options=channel_options, interceptors=interceptors)
        else:
            self.channel = grpc.aio.secure_channel(
                address, credentials, options=channel_options, interceptors=interceptors
            )
        self.timeout = timeout
        self._stubs = {
            "session": session_pb2_grpc.SessionServiceStub(self.channel),
            "artifact": artifact_pb2_grpc.ArtifactServiceStub(self.channel),
            "replay": replay_pb2_grpc.ReplayServiceStub(self.channel),
        }

    def stub(self, service: str) -> Any:
        return self._stubs[service]

    def _call(self, service: str, method: str, request: Any, decode: Callable[[Any], T]) -> Awaitable[T]:
        async def send() -> T:
            try:
                response = await getattr(self._stubs[service], method)(
                    request, timeout=self.timeout, metadata=self.options.metadata()
                )
            except grpc.aio.AioRpcError as exc:
                raise error_from_status(exc.code(), exc.details() or "", exc.trailing_metadata()) from None
            return decode(response)

        return send()

    async def close(self) -> None:
        await self.channel.close()

    async def __aenter__(self) -> AsyncSessionClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
