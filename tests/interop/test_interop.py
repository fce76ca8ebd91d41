"""Every client language runs the same scenarios against the same two live servers (open, and with
tokens and a small rate limit), and downloads the artifacts every other language uploaded
byte-identical (`make interop`; part of `make test`)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.server import ServerProcess
from tests.interop.servers import SCENARIOS, start_auth, start_main

ROOT = Path(__file__).resolve().parents[2]
LANGUAGES = ["python", "go", "typescript", "rust"]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    main = start_main(tmp_path_factory.mktemp("interop"))
    try:
        auth = start_auth(tmp_path_factory.mktemp("interop-auth"))
    except Exception:
        main.stop()
        raise
    yield main, auth
    main.stop()
    auth.stop()


def _driver(language: str, target: str, target_auth: str, out: Path, verify: list[Path]) -> list[str]:
    if language == "python":
        return [
            sys.executable,
            "-m",
            "tests.interop.driver",
            "--target",
            target,
            "--target-auth",
            target_auth,
            "--scenarios",
            str(SCENARIOS),
            "--lang",
            "python",
            "--out",
            str(out),
            *[a for v in verify for a in ("--verify", str(v))],
        ]
    return [
        "make",
        "-s",
        "-C",
        str(ROOT / "clients" / language),
        "interop",
        f"TARGET={target}",
        f"TARGET_AUTH={target_auth}",
        f"OUT={out}",
        f"VERIFY={' '.join(str(v) for v in verify)}",
    ]


def test_every_language_passes_every_scenario_and_reads_the_others_bytes(
    servers: tuple[ServerProcess, ServerProcess], tmp_path: Path
) -> None:
    main, auth = servers
    scenario_names = [s["name"] for s in json.loads(SCENARIOS.read_text())["scenarios"]]
    outputs: list[Path] = []
    for language in [*LANGUAGES, "python"]:  # python again at the end verifies everyone's uploads
        out = tmp_path / f"{language}-{len(outputs)}.json"
        result = subprocess.run(
            _driver(language, main.address, auth.address, out, list(outputs)),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        report = result.stdout + result.stderr
        assert result.returncode == 0, f"{language} interop failed:\n{report}"
        summary = [line for line in result.stdout.splitlines() if line.startswith("interop:")]
        assert summary and summary[-1].endswith(" 0 failed"), report
        verified = [line for line in result.stdout.splitlines() if line.startswith("ok verify:")]
        assert len(verified) == len(outputs), report
        results = json.loads(out.read_text())["results"]
        not_ok = {name: results.get(name, "missing") for name in scenario_names if results.get(name) != "ok"}
        assert not not_ok, (
            f"{language}: scenarios not passed (skipped or missing count as failures): {not_ok}\n{report}"
        )
        outputs.append(out)
