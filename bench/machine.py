"""Facts about the machine and the software a run measured, for the JSON file."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("grpcio", "rocksdict", "protobuf", "orjson", "blake3", "lz4", "pyfastcdc", "llmspell-sessions")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _git(root: Path, *args: str) -> str:
    try:
        return subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def load_average() -> list[float] | None:
    """The 1/5/15-minute load averages (how busy the shared machine was)."""
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def file_system(path: Path) -> str:
    """The file system type holding path (fsync figures mean little on tmpfs)."""
    best, kind = "", "unknown"
    try:
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            mount = parts[1]
            if str(path.resolve()).startswith(mount) and len(mount) > len(best):
                best, kind = mount, parts[2]
    except OSError:
        pass
    return kind


def describe(root: Path, tmp_root: Path) -> dict[str, Any]:
    """nproc, CPU, memory, kernel, Python, package versions and the git commit."""
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    status = _git(root, "status", "--porcelain")
    return {
        "nproc": affinity or os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_bytes": _memory_bytes(),
        "kernel": platform.release(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "packages": {name: _version(name) for name in PACKAGES},
        "git_commit": _git(root, "rev-parse", "HEAD"),
        "git_dirty_files": len(status.splitlines()) if status else 0,
        "tmp_dir": str(tmp_root),
        "tmp_file_system": file_system(tmp_root),
        "load_average_start": load_average(),
    }
