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
    lines = ["max_sessions = 10000", ""]
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
    env = {"LLMSPELL_SESSION_RATE_LIMIT_PER_SESSION": str(RATE_LIMIT_PER_SESSION)}  # the environment beats the file
    return ServerProcess(path / "store", env=env, args=["--config", str(config)]).start()


def main() -> None:
    """`python -m tests.interop.servers DIR`: both servers over DIR until Ctrl-C, for running a
    driver by hand (`make -C clients/<lang> interop TARGET=... TARGET_AUTH=... OUT=...`)."""
    import signal
    import sys
    import time

    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop the servers on SIGTERM too
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "interop-servers")
    main_server, auth_server = start_main(folder / "main"), start_auth(folder / "auth")
    print(f"TARGET={main_server.address} TARGET_AUTH={auth_server.address}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        main_server.stop()
        auth_server.stop()


if __name__ == "__main__":
    main()
