"""The bare grpcio server-streaming ceilings of the replay scenario: a message source and a fan-out.

``/bench.Stream/Source`` (unary-stream) answers a request of 8 bytes (a message count, big-endian)
followed by 4 bytes (a message size) with that many messages of that size, each the same pre-made
buffer: what a ReplaySession in FAST mode pays per frame (HTTP/2, flow control, the aio event loop,
one Python generator step per message) and nothing of the service.

``/bench.Stream/Subscribe`` (unary-stream) and ``/bench.Stream/Publish`` (unary) are the fan-out
ceiling of SubscribeEvents: every Publish puts its request bytes on the queue of every open Subscribe
stream and answers 0 bytes once it has; each Subscribe stream yields what reaches its queue. No
protobuf, interceptor, engine or storage. Same server options as the real server. Run it as
``python -m bench.stream_source_server [--address 127.0.0.1:0]``; it logs ``serving on HOST:PORT``
on stderr and stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator

import grpc

SOURCE = "/bench.Stream/Source"
SUBSCRIBE = "/bench.Stream/Subscribe"
PUBLISH = "/bench.Stream/Publish"
SUBSCRIBERS: set[asyncio.Queue[bytes]] = set()


def source_request(count: int, size: int) -> bytes:
    """The Source request for ``count`` messages of ``size`` bytes."""
    return count.to_bytes(8, "big") + size.to_bytes(4, "big")


async def source(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    """Streams int(request[:8]) messages of int(request[8:12]) bytes."""
    count, size = int.from_bytes(request[:8], "big"), int.from_bytes(request[8:12], "big")
    message = b"\x01" * size
    for _ in range(count):
        yield message


async def subscribe(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    """Yields every published message from now on, until the client cancels."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    SUBSCRIBERS.add(queue)
    try:
        while True:
            yield await queue.get()
    finally:
        SUBSCRIBERS.discard(queue)


async def publish(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    """Hands the request to every subscriber, then answers."""
    for queue in tuple(SUBSCRIBERS):
        queue.put_nowait(request)
    return b""


def main(argv: list[str] | None = None) -> int:
    if __package__:
        from .bare_server import main as run
    else:  # run as a script: its directory is on sys.path
        from bare_server import main as run  # type: ignore[no-redef]
    methods = {
        "Source": grpc.unary_stream_rpc_method_handler(source),
        "Subscribe": grpc.unary_stream_rpc_method_handler(subscribe),
        "Publish": grpc.unary_unary_rpc_method_handler(publish),
    }
    return run(__doc__.splitlines()[0], "bench.Stream", methods, argv)


if __name__ == "__main__":
    sys.exit(main())
