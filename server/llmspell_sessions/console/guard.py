"""What every console request passes before any engine call: the Host check (DNS rebinding), the
CSRF rules of the JSON API, the security headers of every response, and the one place errors become
HTTP answers.

There are no cookies: the SPA sends its bearer token in the Authorization header, so a page of
another origin has no ambient credential to ride on. The custom header and the JSON content type
still force a CORS preflight (which this server never answers), and Origin / Sec-Fetch-Site are
checked when the browser sends them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from ..rpc.server import is_loopback
from .errors import Refused, error_response

CSRF_HEADER = "X-Llmspell-Console"
WILDCARD_HOSTS = ("0.0.0.0", "::", "[::]", "")
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def allowed_hosts(bound: str) -> frozenset[str] | None:
    """The Host header values a request to the bound HOST:PORT may carry; None for a wildcard bind,
    which any name can reach (and which serves only with tokens: see rpc/server.refuse_open_address)."""
    host, port = bound.rsplit(":", 1)
    if host in WILDCARD_HOSTS:
        return None
    names = {host, *LOOPBACK_NAMES} if is_loopback(bound) else {host}
    return frozenset(f"{name}:{port}" for name in names)


class Guard:
    """The console's middleware (host, CSRF, errors) and response-prepare hook (security headers)."""

    def __init__(self) -> None:
        self._hosts: frozenset[str] | None = frozenset()  # nothing is served before bind()

    def bind(self, bound: str) -> None:
        """Called once the console's port is known."""
        self._hosts = allowed_hosts(bound)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            self._check_host(request)
            if request.path.startswith("/api/"):
                _check_csrf(request)
            return await handler(request)
        except web.HTTPException:
            raise
        except Exception as error:  # noqa: BLE001 - every failure becomes one mapped answer
            return error_response(error, request.path)

    def _check_host(self, request: web.Request) -> None:
        if self._hosts is not None and request.headers.get("Host", "") not in self._hosts:
            raise Refused(421, "MISDIRECTED_REQUEST", "this console does not serve that Host name")


def _check_csrf(request: web.Request) -> None:
    if request.headers.get(CSRF_HEADER) != "1":
        raise Refused(403, "CSRF_HEADER_MISSING", f"console API calls need the header '{CSRF_HEADER}: 1'")
    if request.content_type != "application/json":
        raise Refused(415, "UNSUPPORTED_MEDIA_TYPE", "console API calls send 'Content-Type: application/json'")
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        raise Refused(403, "CROSS_SITE", "console API calls are accepted from the console's own pages only")
    origin = request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("Host", ""):
        raise Refused(403, "CROSS_ORIGIN", "console API calls are accepted from the console's own origin only")


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every answer (pages, static files, API, streams, errors) gets them."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
