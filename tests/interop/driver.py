"""The Python interop driver: runs tests/interop/scenarios.json against live servers (see README.md)."""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any

from blake3 import blake3
from llmspell_sessions.client import SessionClient
from llmspell_sessions.errors import LlmspellError

from .content import xorshift32
from .expect import check_error, check_step, lookup
from .streams import StreamOps

__all__ = ["main", "xorshift32"]


class Scenario(StreamOps):
    """One run of one scenario: its saved results and the substitutions they feed."""

    def resolve(self, value: Any) -> Any:
        if isinstance(value, str):
            if value == "$content_digest":
                return blake3(self.last_content).hexdigest()
            if value == "$range_digest":
                return self.range_digest
            name, _, path = value[1:].partition(".")
            if value.startswith("$") and path and name in self.saved:
                return lookup(self.saved[name], path)
            return value.replace("$lang", self.lang).replace("$uid", self.uid)
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        return value

    def call(self, step: dict[str, Any], default_token: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """Runs a step's call (repeated up to repeat_until_error times): (result, None) or (None, error)."""
        self.use_token(step.get("token", default_token))
        self.step = step
        method = getattr(self, "op_" + step["op"])
        args = self.resolve(step.get("args", {}))
        limit = int(step.get("repeat_until_error", 1))
        for attempt in range(1, limit + 1):
            try:
                result = method(copy.deepcopy(args))
            except LlmspellError as error:
                return None, {
                    "code": error.code,
                    "reason": error.reason,
                    "message": str(error),
                    "retry_delay_ms": round(error.retry_delay * 1000) if error.retry_delay else 0,
                    "attempts": attempt,
                }
        return {**result, "attempts": limit}, None

    def run(self, steps: list[dict[str, Any]], default_token: str) -> None:
        """Every step in order; AssertionError at the first that does not meet its expectations."""
        for number, step in enumerate(steps, 1):
            where = f"step {number} ({step['op']})"
            result, error = self.call(step, default_token)
            try:
                if error is not None:
                    if "expect_error" not in step:
                        raise AssertionError(f"unexpected error {error['code']}/{error['reason']}: {error['message']}")
                    check_error(step, error, self.resolve)
                    continue
                if "expect_error" in step:
                    raise AssertionError(f"expected error {step['expect_error']}, got success")
                check_step(step, result, self.resolve)
            except AssertionError as failure:
                raise AssertionError(f"{where}: {failure}") from None
            if "save" in step:
                self.saved[step["save"]] = result


def verify(client: SessionClient, path: Path) -> None:
    shared = json.loads(path.read_text())
    for item in shared["shared"]:
        _, pieces = client.download_artifact(item["artifact_id"])
        data = b"".join(pieces)
        if len(data) != item["size"] or blake3(data).hexdigest() != item["content_digest"]:
            raise AssertionError(f"artifact {item['artifact_id']} from {shared['lang']} differs")


class Run:
    """A whole driver run: the connections, the counts and what --out writes."""

    def __init__(self, lang: str, clients: dict[str, SessionClient], tokens: dict[str, Any]) -> None:
        self.lang, self.clients, self.tokens = lang, clients, tokens
        self.passed = self.failed = 0
        self.results: dict[str, str] = {}
        self.shared: list[dict[str, Any]] = []

    def report(self, name: str, outcome: str) -> None:
        self.results[name] = outcome
        if outcome == "ok":
            self.passed += 1
            print(f"ok {name}", flush=True)
        elif outcome == "skipped":
            print(f"skip {name}: no --target-auth", flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}: {outcome}", flush=True)

    def verify(self, path: Path) -> None:
        name = "verify:" + json.loads(path.read_text())["lang"]
        try:
            verify(self.clients["main"], path)
            self.report(name, "ok")
        except (AssertionError, LlmspellError) as error:
            self.report(name, str(error) or repr(error))

    def scenario(self, item: dict[str, Any]) -> None:
        client = self.clients.get(item.get("server", "main"))
        if client is None:
            self.report(item["name"], "skipped")
            return
        scenario = Scenario(client, self.lang, self.tokens)
        try:
            scenario.run(item["steps"], item.get("token", ""))
            self.report(item["name"], "ok")
        except (AssertionError, KeyError, ValueError, TypeError) as error:
            self.report(
                item["name"],
                f"{type(error).__name__}: {error}" if not isinstance(error, AssertionError) else str(error),
            )
        finally:
            client.options = scenario.base_options
        self.shared.extend(scenario.shared)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", required=True, help="the open server")
    parser.add_argument("--target-auth", default="", help="the server with tokens and a small rate limit")
    parser.add_argument("--scenarios", required=True)
    parser.add_argument("--lang", default="python")
    parser.add_argument("--out")
    parser.add_argument("--verify", action="append", default=[])
    args = parser.parse_args(argv)
    document = json.loads(Path(args.scenarios).read_text())
    clients = {"main": SessionClient(args.target)}
    if args.target_auth:
        clients["auth"] = SessionClient(args.target_auth)
    run = Run(args.lang, clients, document.get("tokens", {}))
    try:
        for path in args.verify:
            run.verify(Path(path))
        for item in document["scenarios"]:
            run.scenario(item)
    finally:
        for client in clients.values():
            client.close()
    if args.out:
        Path(args.out).write_text(
            json.dumps({"lang": args.lang, "shared": run.shared, "results": run.results}, indent=2)
        )
    print(f"interop: {run.passed} passed, {run.failed} failed")
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
