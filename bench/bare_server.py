"""What the bare ceiling servers share: the real server's options, the serve loop and the command line.

Each ceiling server (echo_server, sink_server, stream_source_server) only defines its handlers. They run
as scripts (``python bench/echo_server.py``) or as modules (``python -m bench.echo_server``).
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import grpc

OPTIONS = [
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
    ("grpc.max_send_message_length", 16 * 1024 * 1024),
    ("grpc.so_reuseport", 0),
]


async def serve(service: str, methods: dict[str, grpc.RpcMethodHandler], address: str) -> None:
    """Serves the methods under service until SIGTERM or SIGINT; logs ``serving on HOST:PORT`` first."""
    server = grpc.aio.server(options=OPTIONS)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, methods),))
    port = server.add_insecure_port(address)
    await server.start()
    print(f"serving on {address.rsplit(':', 1)[0]}:{port}", file=sys.stderr, flush=True)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    await server.stop(1)


def main(description: str, service: str, methods: dict[str, grpc.RpcMethodHandler], argv: list[str] | None) -> int:
    """Parses ``--address`` (default 127.0.0.1:0) and serves."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--address", default="127.0.0.1:0")
    asyncio.run(serve(service, methods, parser.parse_args(argv).address))
    return 0
