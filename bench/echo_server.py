"""The bare grpcio ceiling: a grpc.aio server whose one unary method returns the request bytes.

It has what every gRPC call pays (HTTP/2, the aio event loop, a Python handler) and nothing of the
service: no protobuf decoding, interceptor, engine or storage. Same server options as the real server.
Run it as ``python -m bench.echo_server [--address 127.0.0.1:0]``; it logs ``serving on HOST:PORT``
on stderr and stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import grpc

METHOD = "/bench.Echo/Echo"
OPTIONS = [
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
    ("grpc.so_reuseport", 0),
]


async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    """Returns the request as it came (bytes: no serializer is registered)."""
    return request


async def serve(address: str) -> None:
    """Serves until SIGTERM or SIGINT."""
    server = grpc.aio.server(options=OPTIONS)
    handler = grpc.method_handlers_generic_handler("bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)})
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
