"""Hooks: code run around every operation. before_* may veto; after_* observe the committed event.

A hook is any object with optional methods ``before(op: HookContext) -> None`` (raise VetoedByHook
or return a reason string to refuse) and ``after(op: HookContext, event: Event) -> None``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from ..errors import InvalidArgument, VetoedByHook
from ..model import Caller, Event

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "llmspell_sessions.hooks"


@dataclass(slots=True)
class HookContext:
    """What a hook sees of an operation: its name, the caller, the session and the proposed event."""

    operation: str
    caller: Caller
    session_id: str
    event_type: str
    payload: dict[str, Any] = field(default_factory=dict)


class HookRunner:
    """Runs the configured hooks in order; an empty runner costs one attribute check per operation."""

    def __init__(self, hooks: Iterable[Any] = ()) -> None:
        self._before: list[Any] = []
        self._after: list[Any] = []
        for hook in hooks:
            self.add(hook)

    def add(self, hook: Any) -> None:
        if hasattr(hook, "before"):
            self._before.append(hook.before)
        if hasattr(hook, "after"):
            self._after.append(hook.after)

    @property
    def active(self) -> bool:
        return bool(self._before or self._after)

    def before(self, context: HookContext) -> None:
        for hook in self._before:
            verdict = hook(context)
            if verdict:
                raise VetoedByHook(str(verdict), operation=context.operation, session_id=context.session_id)

    def after(self, context: HookContext, event: Event) -> None:
        for hook in self._after:
            try:
                hook(context, event)
            except Exception:  # the write is committed: a broken observer must not undo it
                log.exception("after-hook %r failed on %s", hook, event.type)


def load_hooks(specs: Iterable[str], *, entry_point_group: str = ENTRY_POINT_GROUP) -> list[Any]:
    """Instantiates hooks from "module:attr" specs plus the entry point group."""
    loaded = [_load(spec) for spec in specs]
    for entry in entry_points(group=entry_point_group):
        loaded.append(_instantiate(entry.load()))
    return loaded


def _load(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise InvalidArgument(f"hook {spec!r} must be 'module:attr'", field="hooks")
    try:
        return _instantiate(getattr(importlib.import_module(module_name), attr))
    except (ImportError, AttributeError) as exc:
        raise InvalidArgument(f"cannot load hook {spec!r}: {exc}", field="hooks") from exc


def _instantiate(target: Any) -> Any:
    return target() if isinstance(target, type) else target
