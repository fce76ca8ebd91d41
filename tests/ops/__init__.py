"""Tests of the operations commands (check)."""
