"""Google ADK session and artifact services over llmspell sessions: ``pip install 'llmspell-sessions[adk]'``."""

from ._artifacts import LlmspellArtifactService
from ._sessions import LlmspellSessionService

__all__ = ["LlmspellArtifactService", "LlmspellSessionService"]
