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

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator

import grpc

SINK = "/bench.Sink/Sink"
SOURCE = "/bench.Sink/Source"
MESSAGE_BYTES = 1024 * 1024
OPTIONS = [
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
    ("grpc.so_reuseport", 0),
]
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


async def serve(address: str) -> None:
    """Serves until SIGTERM or SIGINT."""
    server = grpc.aio.server(options=OPTIONS)
    handler = grpc.method_handlers_generic_handler(
        "bench.Sink",
        {
            "Sink": grpc.stream_unary_rpc_method_handler(sink),
            "Source": grpc.unary_stream_rpc_method_handler(source),
        },
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port(address)
    await server.start()
    print(f"serving on {address.rsplit(':', 1)[0]}:{port}", file=sys.stderr, flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await server.stop(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:0")
    asyncio.run(serve(parser.parse_args(argv).address))
    return 0


if __name__ == "__main__":
    sys.exit(main())
