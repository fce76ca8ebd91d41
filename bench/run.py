"""Runs the benchmark scenarios and writes ``bench/results/<UTC timestamp>.json`` plus a table.

Usage: ``python -m bench.run [--quick] [--only NAME...] [--out DIR] [--list]``. ``--quick`` takes
fewer samples (the whole run in under 3 minutes); the full run takes under 20 minutes.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from . import machine, plots, report
from .framework import RATIO_DEFINITION, Context, timer_overhead_ns
from .progress import Progress
from .scenarios import discover

ROOT = Path(__file__).resolve().parent.parent


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples: the whole run in < 3 minutes")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these scenarios (see --list)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results", help="directory of the JSON file")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--plots", type=Path, default=ROOT / "bench" / "plots", help="directory of the PNG plots")
    parser.add_argument("--no-plots", action="store_true", help="write no PNG plots")
    return parser.parse_args(argv)


def select(scenarios: list[ModuleType], only: list[str] | None, quick: bool = False) -> list[ModuleType]:
    """The scenarios named by --only (when not given: all, but in a quick run only those without
    ``QUICK = False``); SystemExit on an unknown name."""
    if not only:
        return [s for s in scenarios if getattr(s, "QUICK", True)] if quick else scenarios
    known = {s.NAME: s for s in scenarios}
    unknown = [name for name in only if name not in known]
    if unknown:
        raise SystemExit(f"unknown scenario(s) {unknown}; known: {sorted(known)}")
    return [s for s in scenarios if s.NAME in only]


def run_scenarios(ctx: Context, scenarios: list[ModuleType]) -> dict[str, Any]:
    """Runs each scenario; one that fails is reported and the others still run."""
    outcomes: dict[str, Any] = {}
    for scenario in scenarios:
        ctx.scenario = scenario.NAME
        ctx.progress.begin(scenario.NAME)
        started = time.monotonic()
        try:
            scenario.run(ctx)
            outcomes[scenario.NAME] = {"seconds": round(time.monotonic() - started, 1), "error": None}
        except Exception as exc:  # a broken scenario must not cost the figures of the others
            ctx.progress.note(f"bench: scenario {scenario.NAME} failed: {exc!r}")
            outcomes[scenario.NAME] = {
                "seconds": round(time.monotonic() - started, 1),
                "error": "".join(traceback.format_exception(exc)),
            }
    return outcomes


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    scenarios = discover()
    if args.list:
        for s in scenarios:
            quick = "" if getattr(s, "QUICK", True) else " (not in --quick unless named)"
            print(f"{s.NAME:12} {(s.__doc__ or '').splitlines()[0]}{quick}")
        return 0
    chosen = select(scenarios, args.only, args.quick)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    tmp_root = Path(tempfile.mkdtemp(prefix="llmspell-bench-"))
    progress = Progress(len(chosen))
    ctx = Context(quick=args.quick, progress=progress, tmp_root=tmp_root)
    document: dict[str, Any] = {
        "schema": 1,
        "timestamp": stamp,
        "mode": "quick" if args.quick else "full",
        "argv": sys.argv[1:] if argv is None else argv,
        "machine": machine.describe(ROOT, tmp_root),
        "timer_overhead_ns": timer_overhead_ns(),
        "ratio_definition": RATIO_DEFINITION,
    }
    if document["machine"]["tmp_file_system"] == "tmpfs":
        progress.note("bench: warning: the temporary directory is on tmpfs; fsync figures are meaningless")
    try:
        outcomes = run_scenarios(ctx, chosen)
    finally:
        shutil.rmtree(tmp_root, ignore_errors=True)
    progress.done()
    document["machine"]["load_average_end"] = machine.load_average()
    document["scenarios"] = outcomes
    document["figures"] = [f.to_json() for f in ctx.figures]
    document["notes"] = ctx.notes
    path = args.out / f"{stamp}.json"
    report.write_json(path, document)
    print(report.table(ctx.figures))
    load = document["machine"]["load_average_start"], document["machine"]["load_average_end"]
    print(
        f"machine: {document['machine']['nproc']} cores, {document['machine']['cpu_model']}; "
        f"load average at start {load[0]}, at end {load[1]}"
    )
    print(f"wrote {path}")
    if not args.no_plots:
        try:
            for written in plots.write(document, args.plots):
                print(f"wrote {written}")
        except ImportError:
            print("no plots: matplotlib is not installed (pip install matplotlib into the venv)")
    failed = [name for name, outcome in outcomes.items() if outcome["error"]]
    if failed:
        print(f"FAILED scenarios: {', '.join(failed)} (tracebacks in the JSON)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
