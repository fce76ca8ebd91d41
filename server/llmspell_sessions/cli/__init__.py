"""The llmspell-sessions command line: serve, check and bench work on a store; every other command
makes client calls to a running server and prints the result. It only translates."""

from __future__ import annotations

from .app import main

__all__ = ["main"]
