"""LangGraph checkpointer over llmspell sessions: ``pip install 'llmspell-sessions[langgraph]'``."""

from ._saver import LlmspellSaver

__all__ = ["LlmspellSaver"]
