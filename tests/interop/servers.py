"""The two servers the interop scenarios run against (see README.md, "Servers").

- main: open (no tokens), every caller is the admin ``anonymous`` of tenant ``default``.
- auth: the bearer tokens of ``scenarios.json``'s ``tokens`` table and a per-session mutation rate of
  RATE_LIMIT_PER_SESSION a minute, for the scenarios marked ``"server": "auth"``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.helpers.server import ServerProcess

SCENARIOS = Path(__file__).resolve().parent / "scenarios.json"
MAIN_ENV = {"LLMSPELL_SESSION_MAX_SESSIONS": "10000"}
RATE_LIMIT_PER_SESSION = 6  # a bucket of 9 mutations per session, refilled at one per 10 s


def auth_config(scenarios: Path = SCENARIOS) -> str:
    """The auth server's TOML: one [[auth.tokens]] per entry of the scenarios' tokens table."""
    tokens = json.loads(scenarios.read_text())["tokens"]
    lines = ["max_sessions = 10000", f"rate_limit_per_session = {RATE_LIMIT_PER_SESSION}", ""]
    for token in tokens.values():
        digest = hashlib.sha256(token["token"].encode()).hexdigest()
        lines += [
            "[[auth.tokens]]",
            f'sha256 = "{digest}"',
            f'subject = "{token["subject"]}"',
            f'tenant = "{token["tenant"]}"',
            f'role = "{token["role"]}"',
            "",
        ]
    return "\n".join(lines)


def start_main(path: Path) -> ServerProcess:
    """The open server, over path."""
    return ServerProcess(path, env=MAIN_ENV).start()


def start_auth(path: Path) -> ServerProcess:
    """The server with tokens and a small per-session rate limit, over path/store."""
    path.mkdir(parents=True, exist_ok=True)
    config = path / "auth.toml"
    config.write_text(auth_config())
    return ServerProcess(path / "store", args=["--config", str(config)]).start()
