"""Every client language runs the same scenarios against one live server, and downloads the
artifacts every other language uploaded byte-identical (`make interop`; part of `make test`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "tests" / "interop" / "scenarios.json"
LANGUAGES = ["python", "go", "typescript", "rust"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> ServerProcess:
    process = ServerProcess(tmp_path_factory.mktemp("interop"), env={"LLMSPELL_SESSION_MAX_SESSIONS": "10000"})
    process.start()
    yield process
    process.stop()


def _driver(language: str, target: str, out: Path, verify: list[Path]) -> list[str]:
    if language == "python":
        command = [
            sys.executable,
            "-m",
            "tests.interop.driver",
            "--target",
            target,
            "--scenarios",
            str(SCENARIOS),
            "--lang",
            "python",
            "--out",
            str(out),
            *[a for v in verify for a in ("--verify", str(v))],
        ]
        return command
    return [
        "make",
        "-s",
        "-C",
        str(ROOT / "clients" / language),
        "interop",
        f"TARGET={target}",
        f"OUT={out}",
        f"VERIFY={' '.join(str(v) for v in verify)}",
    ]


def test_every_language_passes_every_scenario_and_reads_the_others_bytes(server: ServerProcess, tmp_path: Path) -> None:
    outputs: list[Path] = []
    report = {}
    for language in [*LANGUAGES, "python"]:  # python again at the end verifies everyone's uploads
        out = tmp_path / f"{language}-{len(outputs)}.json"
        result = subprocess.run(
            _driver(language, server.address, out, list(outputs)), cwd=ROOT, capture_output=True, text=True, timeout=600
        )
        report[language] = result.stdout + result.stderr
        assert result.returncode == 0, f"{language} interop failed:\n{report[language]}"
        summary = [line for line in result.stdout.splitlines() if line.startswith("interop:")]
        assert summary and summary[-1].endswith(" 0 failed"), report[language]
        verified = [line for line in result.stdout.splitlines() if line.startswith("ok verify:")]
        assert len(verified) == len(outputs), report[language]
        outputs.append(out)
