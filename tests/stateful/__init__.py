"""Stateful property tests: the engine against a model."""
