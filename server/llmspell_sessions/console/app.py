"""The console's HTTP server: routes, static files, start and stop on the server's event loop."""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from ..rpc.malformed import RateLimitedLog
from .calls import Calls
from .guard import Guard, add_security_headers
from .streams import Streams

if TYPE_CHECKING:
    from ..rpc.server import Server

STATIC = Path(str(resources.files(__package__) / "static"))
MAX_REQUEST_BYTES = 1024 * 1024  # request bodies are small JSON messages


class Console:
    """The web console of one Server: its JSON API, streams and single-page app."""

    def __init__(self, server: Server) -> None:
        self._calls = Calls(server)
        self._streams = Streams(self._calls)
        self._guard = Guard()
        self._runner: web.AppRunner | None = None

    def application(self) -> web.Application:
        """The aiohttp application (routes, middleware, headers)."""
        app = web.Application(middlewares=[self._guard.middleware], client_max_size=MAX_REQUEST_BYTES)
        app.on_response_prepare.append(add_security_headers)
        app.router.add_get("/", _index)
        app.router.add_static("/static/", STATIC, follow_symlinks=False)
        app.router.add_post("/api/subscribe", self._streams.subscribe)
        app.router.add_post("/api/replay", self._streams.replay)
        app.router.add_post("/api/replay/control", self._streams.control)
        app.router.add_post("/api/download", self._streams.download)
        app.router.add_post("/api/{service}/{method}", self._calls.unary)
        return app

    async def start(self, address: str) -> str:
        """Listens on address (port 0 picks one); returns the bound HOST:PORT."""
        # No aiohttp access log: it would print request lines and headers; the observers log calls.
        self._runner = web.AppRunner(self.application(), access_log=None, handler_cancellation=True, logger=ServerLog())
        await self._runner.setup()
        host, port = address.rsplit(":", 1)
        site = web.TCPSite(self._runner, host.strip("[]"), int(port))
        await site.start()
        bound = f"{host}:{self._runner.addresses[0][1]}"
        self._guard.bind(bound)
        return bound

    async def stop(self) -> None:
        """Ends the open streams and closes the listener."""
        self._streams.end()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class ServerLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """aiohttp's server logger for the console. A request its parser refuses (a line too long, a duplicate
    Host, bytes that are not HTTP) is answered 400 and is the client's doing: anyone can send one, without
    a token, so it is counted into one rate-limited INFO line naming the error's kind, not logged as an
    ERROR traceback per request quoting what the client sent (which may be anything, a secret too).
    Every other error still goes to the ``aiohttp.server`` logger."""

    def __init__(self) -> None:
        super().__init__(logging.getLogger("aiohttp.server"), {})
        self._malformed = RateLimitedLog(logger=logging.getLogger(__name__))

    def exception(self, msg: object, *args: Any, exc_info: Any = True, **kwargs: Any) -> None:
        if isinstance(exc_info, HttpProcessingError):
            self._malformed.record("console HTTP request", f"{exc_info.code} {type(exc_info).__name__}")
            return
        super().exception(msg, *args, exc_info=exc_info, **kwargs)


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")
