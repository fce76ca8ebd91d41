"""Whether to use a native extension: the one reading of the environment for the hot path's twin
selector and the wire package's codec (which the light client imports without any native build).

``LLMSPELL_SESSIONS_PURE=1`` asks for the Python paths everywhere; ``LLMSPELL_SESSIONS_REQUIRE_NATIVE=1``
turns a missing build of a module that honours it (the hot path) into an ImportError.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

PURE = "LLMSPELL_SESSIONS_PURE"
REQUIRE_NATIVE = "LLMSPELL_SESSIONS_REQUIRE_NATIVE"


def load(name: str, *, honour_require: bool) -> ModuleType | None:
    """The native module ``name``, or None: when PURE=1, or when it is not built (an ImportError
    instead if honour_require and REQUIRE_NATIVE=1)."""
    if os.environ.get(PURE) == "1":
        return None
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if honour_require and os.environ.get(REQUIRE_NATIVE) == "1":
            raise ImportError(f"{name} is not built and {REQUIRE_NATIVE}=1") from exc
        return None
