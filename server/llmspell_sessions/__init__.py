"""llmspell-sessions: a session store for LLM agents and tools, embedded or served over gRPC.

Importing this package loads no storage backend or gRPC module: SessionManager (which needs the
server's dependencies) is imported on first use, so the client works with grpcio and protobuf alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import ServerConfig, SessionManagerConfig, load_config
from .errors import LlmspellError
from .model import Artifact, ArtifactType, Caller, Checkpoint, Event, LoadedSession, Page, Role, Session, SessionState

if TYPE_CHECKING:
    from .engine import SessionManager

__version__ = "0.1.0"
__all__ = [
    "Artifact",
    "ArtifactType",
    "Caller",
    "Checkpoint",
    "Event",
    "LlmspellError",
    "LoadedSession",
    "Page",
    "Role",
    "ServerConfig",
    "Session",
    "SessionManager",
    "SessionManagerConfig",
    "SessionState",
    "load_config",
]


def __getattr__(name: str) -> Any:
    if name == "SessionManager":
        from .engine import SessionManager

        return SessionManager
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
