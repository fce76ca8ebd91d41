"""The engine: every rule of the service, shared by the embedded API and the server."""

from .manager import SessionManager

__all__ = ["SessionManager"]
