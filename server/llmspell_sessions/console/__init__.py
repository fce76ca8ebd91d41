"""The web console: a JSON API over the same servicers, engine and security as the gRPC port, and a
single-page app (plain ES modules in static/) that shows sessions, events, state and artifacts.

See docs/console.md. The console runs on the server's event loop; it is off unless
``serve --console-address HOST:PORT`` (ServerConfig.console_address) is given.
"""

from __future__ import annotations

from .app import Console

__all__ = ["Console"]
