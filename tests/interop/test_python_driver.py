"""The Python interop driver alone against its own two live servers: every scenario passes, its
shared uploads verify, and a scenario whose expectation is wrong fails (the driver really compares)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.server import ServerProcess
from tests.interop.content import _xorshift32_pure, generate, xorshift32
from tests.interop.expect import equal, lookup
from tests.interop.servers import SCENARIOS, start_auth, start_main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    main = start_main(tmp_path_factory.mktemp("driver"))
    try:
        auth = start_auth(tmp_path_factory.mktemp("driver-auth"))
    except Exception:
        main.stop()
        raise
    yield main, auth
    main.stop()
    auth.stop()


def _document() -> dict[str, Any]:
    return json.loads(SCENARIOS.read_text())


def _scenario(document: dict[str, Any], name: str) -> dict[str, Any]:
    return copy.deepcopy(next(s for s in document["scenarios"] if s["name"] == name))


def _step(scenario: dict[str, Any], op: str, nth: int = 0) -> dict[str, Any]:
    return [s for s in scenario["steps"] if s["op"] == op][nth]


def _run(servers: tuple[ServerProcess, ServerProcess], scenarios: Path, out: Path, *extra: str) -> tuple[int, str]:
    main, auth = servers
    command = [
        sys.executable,
        "-m",
        "tests.interop.driver",
        "--target",
        main.address,
        "--scenarios",
        str(scenarios),
        "--out",
        str(out),
        *extra,
    ]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    return result.returncode, result.stdout + result.stderr


def test_the_python_driver_passes_every_scenario_and_verifies_its_own_uploads(
    servers: tuple[ServerProcess, ServerProcess], tmp_path: Path
) -> None:
    auth = ["--target-auth", servers[1].address]
    code, report = _run(servers, SCENARIOS, tmp_path / "first.json", *auth)
    assert code == 0, report
    first = json.loads((tmp_path / "first.json").read_text())
    names = [s["name"] for s in _document()["scenarios"]]
    assert first["results"] == dict.fromkeys(names, "ok"), report
    assert report.splitlines()[-1] == f"interop: {len(names)} passed, 0 failed"
    assert [item["size"] for item in first["shared"]] == [5242880]

    code, report = _run(servers, SCENARIOS, tmp_path / "second.json", *auth, "--verify", str(tmp_path / "first.json"))
    assert code == 0, report
    assert "ok verify:python" in report.splitlines()


def test_scenarios_on_the_auth_server_are_skipped_without_its_target(
    servers: tuple[ServerProcess, ServerProcess], tmp_path: Path
) -> None:
    document = _document()
    document["scenarios"] = [_scenario(document, "lifecycle"), _scenario(document, "grants")]
    scenarios = tmp_path / "scenarios.json"
    scenarios.write_text(json.dumps(document))
    code, report = _run(servers, scenarios, tmp_path / "out.json")
    assert code == 0, report
    assert json.loads((tmp_path / "out.json").read_text())["results"] == {"lifecycle": "ok", "grants": "skipped"}
    assert "skip grants: no --target-auth" in report
    assert report.splitlines()[-1] == "interop: 1 passed, 0 failed"


def _broken_scenarios(document: dict[str, Any]) -> dict[str, tuple[dict[str, Any], str]]:
    """Scenarios with one expectation or control changed, each with what its failure must say."""
    replay = _scenario(document, "replay")
    timed = _step(replay, "replay_session", 1)
    timed["args"]["controls"] = [c for c in timed["args"]["controls"] if c["send"] != ["pause"]]
    dedup = _scenario(document, "dedup_upload")
    _step(dedup, "upload_chunked", 1)["expect_at_most"]["bytes_sent"] = 1000
    retry = _scenario(document, "retry_info")
    _step(retry, "set_session_state")["expect_at_most"]["retry_delay_ms"] = 0
    grants = _scenario(document, "grants")
    del _step(grants, "set_session_state", 1)["expect_error"]
    cancel = _scenario(document, "cancel_download")
    _step(cancel, "download_artifact")["args"]["cancel_after_bytes"] = 1 << 40
    integrity = _scenario(document, "corrupted_download")
    _step(integrity, "download_artifact")["args"]["expected_digest"] = "$a.content_digest"
    resume = _scenario(document, "resume_upload")
    # A wrong digest, not other content: whether the interrupted stream kept any bytes (and so
    # whether other resumed content shows in the digest) depends on timing (0 bytes is allowed).
    _step(resume, "upload_artifact", 1)["expect"]["content_digest"] = "0" * 64
    read = _scenario(document, "apply_and_read")
    _step(read, "read_session")["expect"]["keys"] = ["p/b", "p/a"]
    return {
        "replay": (replay, "statuses"),
        "dedup_upload": (dedup, "bytes_sent"),
        "retry_info": (retry, "retry_delay_ms"),
        "grants": (grants, "unexpected error PERMISSION_DENIED/ACCESS_DENIED"),
        "cancel_download": (cancel, "got success"),
        "corrupted_download": (integrity, "got success"),
        "resume_upload": (resume, "step 4 (upload_artifact): content_digest"),
        "apply_and_read": (read, "keys"),
    }


def test_a_scenario_whose_expectation_is_wrong_fails(
    servers: tuple[ServerProcess, ServerProcess], tmp_path: Path
) -> None:
    document = _document()
    broken = _broken_scenarios(document)
    document["scenarios"] = [scenario for scenario, _ in broken.values()]
    scenarios = tmp_path / "broken.json"
    scenarios.write_text(json.dumps(document))
    code, report = _run(servers, scenarios, tmp_path / "out.json", "--target-auth", servers[1].address)
    assert code == 1, report
    results = json.loads((tmp_path / "out.json").read_text())["results"]
    for name, (_, why) in broken.items():
        assert why in results[name], f"{name}: {results[name]}"
    assert report.splitlines()[-1] == f"interop: 0 passed, {len(broken)} failed"


def test_generated_content_matches_the_word_by_word_definition() -> None:
    for seed, size in [(1, 5), (20261125, 4 * 1024 * 1024 + 3), (0xFFFFFFFF, 262144)]:
        assert xorshift32(seed, size) == bytes(_xorshift32_pure(seed, (size + 3) // 4))[:size]
    assert bytes(_xorshift32_pure(1, 1)) == (270369).to_bytes(4, "little")  # 1 -> 0x42021 by hand


def test_edits_xor_in_place_then_insert_in_order() -> None:
    base = xorshift32(9, 64)
    spec = {
        "generate": "xorshift32",
        "seed": 9,
        "size": 64,
        "edits": [{"xor": 255, "offset": 4, "size": 2}, {"insert": 3, "offset": 10, "seed": 5}],
    }
    edited = generate(spec)
    flipped = base[:4] + bytes(b ^ 255 for b in base[4:6]) + base[6:]
    assert edited == flipped[:10] + xorshift32(5, 3) + flipped[10:]
    assert len(edited) == 67


def test_expectations_compare_numbers_numerically_and_missing_fields_as_defaults() -> None:
    assert equal(42, "42") and equal([1, 2], ["1", 2.0]) and not equal(1, True)
    assert equal(0, None) and equal("", None) and equal([], None) and not equal(1, None)
    assert not equal({"a": 1}, {"a": 1, "b": 2})
    assert lookup({"grants": {"x": "R"}, "artifacts": [{"name": "n"}]}, "artifacts.0.name") == "n"
    assert lookup({"artifacts": []}, "artifacts.0.name") is None
