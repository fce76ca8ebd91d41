"""Adapters that make llmspell sessions the store of agent frameworks, embedded or over gRPC.

Each adapter is written once against ``SessionBackend`` -- the methods ``SessionManager`` and
``SessionClient`` share -- and lives in its own subpackage, imported only when used (each needs its
framework, installed by an extra): ``integrations.langgraph`` (``[langgraph]``),
``integrations.openai_agents`` (``[openai-agents]``) and ``integrations.adk`` (``[adk]``).
"""

from ._backend import SessionBackend
from ._directory import SessionDirectory

__all__ = ["SessionBackend", "SessionDirectory"]
