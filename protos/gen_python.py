"""Generates the Python gRPC stubs (with mypy .pyi stubs) from protos/ into llmspell_sessions/_pb.

Imports are rewritten from ``llmspell.sessions.v1`` to the flat ``llmspell_sessions._pb`` package so
the generated modules never shadow a top-level ``llmspell`` package.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

PROTO_ROOT = Path(__file__).resolve().parent
PACKAGE_DIR = PROTO_ROOT / "llmspell" / "sessions" / "v1"
DEFAULT_OUT = PROTO_ROOT.parent / "server" / "llmspell_sessions" / "_pb"
_IMPORT_PATTERNS = (
    (re.compile(r"from llmspell\.sessions\.v1 import"), "from llmspell_sessions._pb import"),
    (re.compile(r"\bllmspell\.sessions\.v1\.(\w+_pb2(?:_grpc)?)\b"), r"llmspell_sessions._pb.\1"),
)


def _protoc(args: list[str]) -> None:
    from grpc_tools import protoc  # imported late: a build-time dependency only

    include = str(Path(protoc.__file__).parent / "_proto")
    if protoc.main(["protoc", f"-I{PROTO_ROOT}", f"-I{include}", *args]) != 0:
        raise RuntimeError("protoc failed on " + " ".join(args))


def _mypy_plugins() -> list[str]:
    """--plugin flags for mypy-protobuf's two generators, or [] when it is not installed."""
    flags = []
    for name in ("protoc-gen-mypy", "protoc-gen-mypy_grpc"):
        plugin = shutil.which(name) or str(Path(sys.executable).parent / name)
        if not Path(plugin).exists():
            return []
        flags.append(f"--plugin={name}={plugin}")
    return flags


def generate(out_dir: Path = DEFAULT_OUT) -> list[Path]:
    """Generates the stubs into out_dir and returns the files written."""
    protos = sorted(str(p.relative_to(PROTO_ROOT)) for p in PACKAGE_DIR.glob("*.proto"))
    with tempfile.TemporaryDirectory() as tmp:
        plugins = _mypy_plugins()
        stub_args = [f"--mypy_out=quiet:{tmp}", f"--mypy_grpc_out=quiet:{tmp}", *plugins] if plugins else []
        _protoc([f"--python_out={tmp}", f"--grpc_python_out={tmp}", *stub_args, *protos])
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for src in sorted((Path(tmp) / "llmspell" / "sessions" / "v1").iterdir()):
            text = src.read_text()
            for pattern, replacement in _IMPORT_PATTERNS:
                text = pattern.sub(replacement, text)
            dest = out_dir / src.name
            dest.write_text(text)
            written.append(dest)
    (out_dir / "__init__.py").write_text('"""Generated protobuf and gRPC modules (built, not committed)."""\n')
    return written


if __name__ == "__main__":
    for path in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUT):
        print(path)
