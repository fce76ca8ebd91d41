"""The console's static app ships in the package: a wheel built from the tracked files (as `make dist`
builds one, without the native build) holds every file of console/static, so an installed server
serves the same pages as a checkout."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STATIC = "server/llmspell_sessions/console/static/"


@pytest.mark.slow
def test_the_wheel_holds_every_static_file(tmp_path: Path) -> None:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode()
    names = [name for name in tracked.split("\0") if name]
    source = tmp_path / "checkout"
    for name in names:  # a copy: building regenerates the stubs, which must not change under a running suite
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    env = {**os.environ, "LLMSPELL_SESSIONS_PURE_BUILD": "1"}
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(tmp_path / "dist"), str(source)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (tmp_path / "dist").glob("llmspell_sessions-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    static = [name[len("server/") :] for name in names if name.startswith(STATIC)]
    assert any(name.endswith("index.html") for name in static)
    missing = [name for name in static if name not in shipped]
    assert not missing, missing
