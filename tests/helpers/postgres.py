"""The throwaway PostgreSQL cluster of the tests: the package's own (``make cluster`` uses it too)."""

from __future__ import annotations

from llmspell_sessions.devcluster.postgres import PostgresCluster, find_bin

__all__ = ["PostgresCluster", "find_bin"]
