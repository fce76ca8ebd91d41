"""Hooks: code run around every operation. before_* may veto; after_* observe the committed event.

A hook is any object with some of these methods (all optional):

- ``before(op: HookContext) -> str | None`` — every operation; return a reason (or raise
  VetoedByHook) to refuse it: nothing is written and the caller gets FAILED_PRECONDITION /
  VETOED_BY_HOOK. Any other LlmspellError it raises (a policy's RateLimited, say) goes to the caller
  as is; any other exception refuses the operation too (fail closed) and is logged.
- ``after(op: HookContext, event: Event | None) -> None`` — every operation, once committed. Errors
  are logged and never undo the write.
- ``before_<operation>(op)`` / ``after_<operation>(op, event)`` — the same for one operation only,
  e.g. ``before_append_events``, ``after_fork_session``.

Operations are the engine's method names (create_session, set_session_state, append_events,
create_checkpoint, fork_session, rewind_session, store_artifact, timeout, ...). An operation that
appends several events runs the hooks once per event; one veto refuses them all. Hooks are loaded
from config ``hooks`` ("module:attr"; a class is instantiated) and the entry point group
``llmspell_sessions.hooks``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from ..errors import InvalidArgument, LlmspellError, VetoedByHook
from ..model import Caller, Event

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "llmspell_sessions.hooks"
BeforeHook = Callable[["HookContext"], Any]
AfterHook = Callable[["HookContext", "Event | None"], Any]


@dataclass(slots=True)
class HookContext:
    """What a hook sees of an operation: its name, the caller, the session and the proposed event
    (event_type is empty for operations that append none, such as delete_session). dry_run is set
    when a bulk dry run asks: a veto is reported, and nothing will be written or followed by after-hooks."""

    operation: str
    caller: Caller
    session_id: str
    event_type: str
    payload: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False


class HookRunner:
    """Runs the configured hooks in order; an empty runner costs one attribute check per operation."""

    def __init__(self, hooks: Iterable[Any] = ()) -> None:
        self._before: list[BeforeHook] = []
        self._after: list[AfterHook] = []
        self._specific: dict[str, list[Any]] = {}  # "before_<op>" / "after_<op>" -> methods
        self._chains: dict[str, tuple[Any, ...]] = {}
        self.active = False
        for hook in hooks:
            self.add(hook)

    def add(self, hook: Any) -> None:
        """Adds a hook after the ones already there."""
        if callable(getattr(hook, "before", None)):
            self._before.append(hook.before)
        if callable(getattr(hook, "after", None)):
            self._after.append(hook.after)
        for name in dir(hook):
            if name.startswith(("before_", "after_")) and callable(getattr(hook, name)):
                self._specific.setdefault(name, []).append(getattr(hook, name))
        self._chains.clear()
        self.active = bool(self._before or self._after or self._specific)

    def _chain(self, kind: str, operation: str) -> tuple[Any, ...]:
        name = f"{kind}_{operation}"
        chain = self._chains.get(name)
        if chain is None:
            generic = self._before if kind == "before" else self._after
            chain = self._chains[name] = (*generic, *self._specific.get(name, ()))
        return chain

    def before(self, context: HookContext) -> None:
        """Runs the before-hooks of context.operation; raises VetoedByHook on a refusal."""
        for hook in self._chain("before", context.operation):
            try:
                verdict = hook(context)
            except LlmspellError:
                raise
            except Exception as exc:  # a broken guard must not let the operation through
                log.exception("before-hook %r failed on %s", hook, context.operation)
                raise VetoedByHook(f"hook failed: {exc!r}", operation=context.operation) from exc
            if verdict:
                raise VetoedByHook(str(verdict), operation=context.operation, session_id=context.session_id)

    def after(self, context: HookContext, event: Event | None) -> None:
        """Runs the after-hooks of context.operation; their errors are logged, never raised."""
        for hook in self._chain("after", context.operation):
            try:
                hook(context, event)
            except Exception:  # the write is committed: a broken observer must not undo it
                log.exception("after-hook %r failed on %s", hook, context.operation)


def load_hooks(specs: Iterable[str], *, entry_point_group: str = ENTRY_POINT_GROUP) -> list[Any]:
    """Instantiates hooks from "module:attr" specs plus the entry point group."""
    loaded = [_load(spec) for spec in specs if spec.strip()]
    for entry in entry_points(group=entry_point_group):
        loaded.append(_instantiate(entry.load()))
    return loaded


def _load(spec: str) -> Any:
    module_name, _, attr = spec.strip().partition(":")
    if not module_name or not attr:
        raise InvalidArgument(f"hook {spec!r} must be 'module:attr'", field="hooks")
    try:
        return _instantiate(getattr(importlib.import_module(module_name), attr))
    except (ImportError, AttributeError) as exc:
        raise InvalidArgument(f"cannot load hook {spec!r}: {exc}", field="hooks") from exc


def _instantiate(target: Any) -> Any:
    return target() if isinstance(target, type) else target
