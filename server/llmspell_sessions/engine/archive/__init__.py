"""Portable session archives: export sessions to one file, import them into any store."""

from .archives import Archives

__all__ = ["Archives"]
