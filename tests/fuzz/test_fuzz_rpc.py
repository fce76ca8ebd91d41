"""Fuzz every RPC with bytes parsed as its request: never INTERNAL, never a hang, always still serving.

Time-boxed by LLMSPELL_FUZZ_SECONDS (default 20). Coverage-guided with atheris when installed,
otherwise a seeded mutation loop over the same seeds and entry points.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from llmspell_sessions._pb import common_pb2

from tests.helpers.consistency import check_store

from . import targets
from .seeds import SEEDS, seed_requests

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, seconds: float, engine: str) -> dict:
    command = [
        sys.executable,
        "-m",
        "tests.fuzz.harness",
        "--seconds",
        str(seconds),
        "--engine",
        engine,
        "--store",
        str(tmp_path / "store"),
        "--corpus",
        str(tmp_path / "corpus"),
        "--artifacts",
        str(tmp_path),
    ]
    done = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        env={**os.environ, "LLMSPELL_SESSION_RATE_LIMIT_GLOBAL": "0"},
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("FUZZ-SUMMARY ")]
    tail = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0 and lines, f"fuzzing found a problem (inputs saved in {tmp_path}):\n{tail}"
    return json.loads(lines[-1].split(" ", 1)[1])


def test_fuzz_rpcs_never_fail_internally(tmp_path: Path) -> None:
    seconds = float(os.environ.get("LLMSPELL_FUZZ_SECONDS", "20"))
    summary = _run(tmp_path, seconds, "atheris")
    print("fuzz summary:", summary)
    assert summary["serving"] and summary["rpcs"] >= 100
    assert not set(summary["codes"]) & targets.BAD_CODES
    check_store(tmp_path / "store")


def test_seeds_name_real_rpcs_and_parse() -> None:
    """Every seed targets an existing RPC (RPCs added later are reached by the fuzzer without seeds)."""
    names = {target.name for target in targets.load()}
    assert set(seed_requests()) <= names
    files = sorted(SEEDS.glob("*.bin"))
    assert {f.name.rsplit("-", 1)[0] for f in files} == set(seed_requests()), "run python -m tests.fuzz.seeds"
    for path in files:
        decoded = targets.decode_input(targets.load(), path.read_bytes(), b"x" * 36)
        assert decoded is not None and decoded[0].name == path.name.rsplit("-", 1)[0]


def test_split_delimited_round_trips() -> None:
    parts = [b"", b"a", common_pb2.Session(name="x" * 300).SerializeToString()]
    assert targets.split_delimited(targets.delimited(parts)) == parts
    assert targets.split_delimited(b"\xff") == [b"\xff"]
