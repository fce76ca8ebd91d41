"""The store checker (``llmspell-sessions check``) as test helpers: in-process, or as the real command."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from llmspell_sessions.check import check_store as run_check
from llmspell_sessions.check import format_report


def check_store(path: Path, tenant: str = "default") -> dict[str, int]:
    """Asserts the store at path is consistent (every check of llmspell_sessions.check, bytes verified);
    returns the tenant's sessions per state name."""
    report = run_check(path)
    assert report.ok, format_report(report)
    return dict(report.states.get(tenant, {}))


def check_store_command(path: Path, tenant: str = "default") -> dict[str, int]:
    """Like check_store, through the real ``llmspell-sessions check --path DIR --json`` command."""
    command = [sys.executable, "-m", "llmspell_sessions", "check", "--path", str(path), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"check exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return dict(json.loads(done.stdout)["sessions_by_state"].get(tenant, {}))
