"""The bare grpcio streaming ceilings: a grpc.aio server with a byte-counting sink and a byte source.

``/bench.Sink/Sink`` (client streaming) reads every message and answers the byte count (8 bytes,
big-endian); ``/bench.Sink/Source`` (server streaming) answers a request of 8 bytes (a size) with that
many bytes in 1 MiB messages, cut from one pre-made random buffer. Both are generic handlers with no
serializer: what every streamed upload or download pays (HTTP/2, flow control, the aio event loop, a
Python handler per message) and nothing of the service: no protobuf, interceptor, engine or storage.
Same server options as the real server. Run it as ``python -m bench.sink_server [--address 127.0.0.1:0]``;
it logs ``serving on HOST:PORT`` on stderr and stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator

import grpc

SINK = "/bench.Sink/Sink"
SOURCE = "/bench.Sink/Source"
MESSAGE_BYTES = 1024 * 1024
BLOCK = os.urandom(MESSAGE_BYTES)


async def sink(requests: AsyncIterator[bytes], context: grpc.aio.ServicerContext) -> bytes:
    """Counts the bytes of every message of the stream."""
    total = 0
    async for message in requests:
        total += len(message)
    return total.to_bytes(8, "big")


async def source(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
    """Streams int(request) bytes in 1 MiB messages."""
    left = int.from_bytes(request, "big")
    while left > 0:
        size = min(left, MESSAGE_BYTES)
        yield BLOCK if size == MESSAGE_BYTES else BLOCK[:size]
        left -= size


def main(argv: list[str] | None = None) -> int:
    if __package__:
        from .bare_server import main as run
    else:  # run as a script: its directory is on sys.path
        from bare_server import main as run  # type: ignore[no-redef]
    methods = {
        "Sink": grpc.stream_unary_rpc_method_handler(sink),
        "Source": grpc.unary_stream_rpc_method_handler(source),
    }
    return run(__doc__.splitlines()[0], "bench.Sink", methods, argv)


if __name__ == "__main__":
    sys.exit(main())
