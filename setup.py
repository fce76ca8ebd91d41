"""Build steps that pyproject.toml cannot declare: protobuf stubs and the Cython hot path."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, find_packages, setup

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "protos"))


def _generate_stubs() -> None:
    from gen_python import generate  # protos/gen_python.py

    generate()


def _extensions() -> list[Extension]:
    from Cython.Build import cythonize

    native = Extension(
        "llmspell_sessions.hotpath._native",
        ["native/hotpath.pyx"],
        include_dirs=["native"],
        extra_compile_args=["-O3"],
    )
    # The Struct/Value codec of the wire package: a module of its own, so the light client, which
    # imports wire but not the hot path, never needs it.
    codec = Extension("llmspell_sessions.wire._codec", ["native/wire_codec.pyx"], extra_compile_args=["-O3"])
    return cythonize([native, codec], compiler_directives={"language_level": "3"}, include_path=["native"])


_generate_stubs()
setup(
    package_dir={"": "server"},
    # The console's static files are data directories (no __init__.py): named here, as setuptools asks.
    packages=[*find_packages("server"), "llmspell_sessions.console.static", "llmspell_sessions.console.static.pages"],
    package_data={
        "llmspell_sessions": ["py.typed", "**/*.pyi"],
        "llmspell_sessions.console.static": ["*.html", "*.js", "*.css"],
        "llmspell_sessions.console.static.pages": ["*.js"],
    },
    ext_modules=[] if os.environ.get("LLMSPELL_SESSIONS_PURE_BUILD") == "1" else _extensions(),
)
