"""The outputs of a run: the JSON file in bench/results/ and the table printed at the end."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .framework import LATENCY, RATIO_DEFINITION, THROUGHPUT, Figure

COLUMNS = (
    "scenario",
    "figure",
    "variant",
    "p50",
    "p99",
    "ops/s",
    "per op",
    "ceiling",
    "ceil p50",
    "ratio",
    "x ceil",
    "target",
    "met",
)


def format_ns(ns: float) -> str:
    """A latency with a unit that keeps three significant digits."""
    if ns < 1_000:
        return f"{ns:.0f} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.3g} µs"
    return f"{ns / 1_000_000:.3g} ms"


def format_value(figure: Figure, value: float) -> str:
    if figure.kind == LATENCY:
        return format_ns(value)
    if figure.kind == THROUGHPUT:
        return f"{value:,.0f} MiB/s" if value >= 10 else f"{value:.3g} MiB/s"
    if abs(value) >= 1_000:
        return f"{value:,.0f}{figure.unit}"
    return f"{value:.3g}{figure.unit}"


def row(figure: Figure) -> tuple[str, ...]:
    """One table row."""
    s, ratio = figure.summary, figure.ratio()
    latency = figure.kind == LATENCY
    met = figure.target.met(figure) if figure.target else None
    return (
        figure.scenario,
        figure.name,
        figure.variant,
        format_value(figure, s.p50),
        format_value(figure, s.p99) if latency else "-",
        f"{s.ops_per_s():,.0f}" if latency else "-",
        format_ns(figure.info["op_p50_ns"]) if "op_p50_ns" in figure.info else "-",
        figure.ceiling_name or "-",
        format_value(figure, figure.ceiling.p50) if figure.ceiling else "-",
        f"{ratio:.3g}" if ratio else "-",
        f"{1 / ratio:.3g}x" if ratio else "-",
        figure.target.text if figure.target else "-",
        {True: "yes", False: "NO", None: "-"}[met],
    )


def table(figures: Sequence[Figure]) -> str:
    """The readable table of every figure, with the legend under it."""
    rows = [COLUMNS, *(row(f) for f in figures)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append(RATIO_DEFINITION + ".")
    lines.append("p50/p99 are per operation; ops/s = 1 / mean latency on one thread.")
    lines.append("per op: for throughput figures, the p50 time of one operation (one upload, one download).")
    return "\n".join(lines)


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Writes the run's JSON (via a temporary file, so a half-written result never appears)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    temporary.replace(path)
