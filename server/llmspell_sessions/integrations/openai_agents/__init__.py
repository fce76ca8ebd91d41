"""OpenAI Agents SDK session over llmspell sessions: ``pip install 'llmspell-sessions[openai-agents]'``."""

from ._session import LlmspellSession

__all__ = ["LlmspellSession"]
