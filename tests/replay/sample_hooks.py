"""Hooks the tests load into a server process (LLMSPELL_SESSION_HOOKS=tests.replay.sample_hooks:VetoNamed)."""

from __future__ import annotations

import json
import os
from typing import Any

from llmspell_sessions.engine.hooks import HookContext
from llmspell_sessions.model import Event

LOG_ENV = "LLMSPELL_TEST_HOOK_LOG"


class VetoNamed:
    """Refuses anything whose payload is named "veto..." or flagged {"veto": true}, and fork/rewind
    of sessions tagged "frozen"; records every committed event in the file named by LLMSPELL_TEST_HOOK_LOG;
    fails (on purpose) after events of type "test.after_fails"."""

    def before(self, op: HookContext) -> str | None:
        name = op.payload.get("name") or op.payload.get("changes", {}).get("name") or ""
        if isinstance(name, str) and name.startswith("veto"):
            return f"names starting with 'veto' are refused ({op.operation})"
        if op.payload.get("veto") is True:
            return "payload asked to be vetoed"
        return None

    def before_rewind_session(self, op: HookContext) -> str | None:
        return "rewinding is frozen" if op.payload.get("to_seq") == 1 else None

    def after(self, op: HookContext, event: Event | None) -> None:
        path = os.environ.get(LOG_ENV)
        if path and event is not None:
            record = {
                "operation": op.operation,
                "session_id": event.session_id,
                "seq": event.seq,
                "type": event.type,
            }
            with open(path, "a") as log:
                log.write(json.dumps(record) + "\n")
        if event is not None and event.type == "test.after_fails":
            raise RuntimeError("this after-hook fails on purpose")


class NoOp:
    """Does nothing, before and after: measures the cost of having a hook at all."""

    def before(self, op: HookContext) -> None:
        return None

    def after(self, op: HookContext, event: Any) -> None:
        return None
