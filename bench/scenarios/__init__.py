"""The workloads: one module per scenario, found here automatically.

A scenario module defines ``NAME`` (what ``--only`` selects), ``ORDER`` (its place in a run),
a docstring (shown by ``--list``) and ``run(ctx: Context) -> None``, which measures and calls
``ctx.record(Figure(...))`` for each figure, each with its ceiling measured in the same run.
Adding a workload is adding a module; nothing else needs to change.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def discover() -> list[ModuleType]:
    """Every scenario module of this package, in run order."""
    modules = [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)]
    scenarios = [m for m in modules if hasattr(m, "run") and hasattr(m, "NAME")]
    return sorted(scenarios, key=lambda m: (getattr(m, "ORDER", 100), m.NAME))
