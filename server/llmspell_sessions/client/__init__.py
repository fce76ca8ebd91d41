"""gRPC clients: SessionClient (blocking) and AsyncSessionClient (asyncio).

Needs only grpcio and protobuf (plus googleapis-common-protos for error details): it never imports
the server, the engine or a storage backend.
"""

from .aio import AsyncSessionClient
from .sync import SessionClient

__all__ = ["AsyncSessionClient", "SessionClient"]
