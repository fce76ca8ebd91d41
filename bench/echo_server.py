"""The bare grpcio ceiling: a grpc.aio server whose one unary method returns the request bytes.

It has what every gRPC call pays (HTTP/2, the aio event loop, a Python handler) and nothing of the
service: no protobuf decoding, interceptor, engine or storage. Same server options as the real server.
Run it as ``python -m bench.echo_server [--address 127.0.0.1:0]``; it logs ``serving on HOST:PORT``
on stderr and stops on SIGTERM or SIGINT.
"""

from __future__ import annotations

import sys

import grpc

METHOD = "/bench.Echo/Echo"


async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
    """Returns the request as it came (bytes: no serializer is registered)."""
    return request


def main(argv: list[str] | None = None) -> int:
    if __package__:
        from .bare_server import main as run
    else:  # run as a script: its directory is on sys.path
        from bare_server import main as run  # type: ignore[no-redef]
    methods = {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    return run(__doc__.splitlines()[0], "bench.Echo", methods, argv)


if __name__ == "__main__":
    sys.exit(main())
