"""The harness core: timed samples, their summary, figures recorded next to a ceiling, the run context.

A figure is one measured operation (latency in ns per op, or throughput in MiB/s). Each is stored
with the ceiling it is compared against, measured in the same run, ideally interleaved with it in
A/B/A/B rounds so that noise from other work on the machine hits both alike.
"""

from __future__ import annotations

import gc
import math
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .progress import Progress

LATENCY = "latency"
THROUGHPUT = "throughput"
VALUE = "value"  # a plain quantity (a ratio, a percentage): its unit and direction are on the Figure
RATIO_DEFINITION = (
    "ratio = ceiling p50 / figure p50 for latency, figure p50 / ceiling p50 for throughput: "
    "1.00 means at the ceiling, 0.25 means four times further from it; "
    "'x ceil' is its inverse (how many times the ceiling's cost the figure pays)"
)
# The percentiles a figure's CDF keeps (``Figure.cdf``): every 2% up to p90, then finer into the tail.
CDF_PERCENTILES = (
    *range(0, 90, 2),
    *(90 + i * 0.5 for i in range(18)),
    *(99 + i * 0.1 for i in range(10)),
    99.95,
    100,
)


@dataclass(frozen=True)
class Summary:
    """The distribution of one figure's samples (ns per op for latency, MiB/s for throughput)."""

    n: int
    p50: float
    p90: float
    p99: float
    mean: float
    min: float
    max: float
    stdev: float

    @classmethod
    def of(cls, samples: Sequence[float]) -> Summary:
        """Summarises samples (at least one)."""
        ordered = sorted(samples)
        return cls(
            n=len(ordered),
            p50=percentile(ordered, 50),
            p90=percentile(ordered, 90),
            p99=percentile(ordered, 99),
            mean=statistics.fmean(ordered),
            min=ordered[0],
            max=ordered[-1],
            stdev=statistics.pstdev(ordered) if len(ordered) > 1 else 0.0,
        )

    def ops_per_s(self) -> float:
        """Operations per second at the mean latency (for latency summaries)."""
        return 1e9 / self.mean if self.mean > 0 else math.inf


def cdf(samples: Sequence[float]) -> list[float]:
    """The samples' values at ``CDF_PERCENTILES`` (a compact CDF for the JSON and the plots)."""
    ordered = sorted(samples)
    return [percentile(ordered, q) for q in CDF_PERCENTILES]


def cdfs(figure: Sequence[float], ceiling: Sequence[float] | None = None) -> dict[str, list[float]]:
    """``Figure.cdf`` from the raw samples of a figure and of its ceiling."""
    return {"figure": cdf(figure), **({"ceiling": cdf(ceiling)} if ceiling else {})}


def percentile(ordered: Sequence[float], q: float) -> float:
    """The q-th percentile of sorted values, linearly interpolated between ranks."""
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Target:
    """A goal for one figure: an absolute p50 limit in ns, or a limit in multiples of the ceiling's p50."""

    text: str
    limit: float
    relative: bool = False
    at_least: bool = False  # the p50 must reach the limit (throughput, ratios) instead of staying under it

    @classmethod
    def at_most_us(cls, micros: float) -> Target:
        """p50 at most ``micros`` µs."""
        return cls(f"<= {micros:g} µs p50", micros * 1000)

    @classmethod
    def at_most_times(cls, factor: float, ceiling: str) -> Target:
        """p50 at most ``factor`` times the ceiling's p50."""
        return cls(f"<= {factor:g}x {ceiling} p50", factor, relative=True)

    @classmethod
    def at_least_times(cls, factor: float, ceiling: str) -> Target:
        """p50 at least ``factor`` times the ceiling's p50 (throughput: ratio >= factor)."""
        return cls(f">= {factor:g}x {ceiling} p50", factor, relative=True, at_least=True)

    @classmethod
    def at_most(cls, limit: float, text: str) -> Target:
        """p50 at most ``limit`` in the figure's own unit (MiB/s, %, ...)."""
        return cls(text, limit)

    @classmethod
    def at_least_value(cls, limit: float, text: str) -> Target:
        """p50 at least ``limit`` in the figure's own unit."""
        return cls(text, limit, at_least=True)

    def met(self, figure: Figure) -> bool | None:
        """Whether the figure meets the target (None when its ceiling is missing)."""
        if self.relative and figure.ceiling is None:
            return None
        bound = self.limit * figure.ceiling.p50 if self.relative and figure.ceiling else self.limit
        return figure.summary.p50 >= bound if self.at_least else figure.summary.p50 <= bound


@dataclass
class Figure:
    """One measured figure with its ceiling (measured in the same run), its target and free-form info."""

    scenario: str
    name: str
    variant: str
    kind: str
    summary: Summary
    ceiling_name: str = ""
    ceiling: Summary | None = None
    target: Target | None = None
    interleaved: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    unit: str = ""  # for VALUE figures ("%", "x", ...)
    lower_is_better: bool = False  # for VALUE figures: the ratio is then ceiling / figure, as for latency
    # The figure's and its ceiling's values at CDF_PERCENTILES (``cdf(samples)``), when the raw samples were kept.
    cdf: dict[str, list[float]] | None = None

    def ratio(self, stat: str = "p50") -> float | None:
        """Figure against ceiling, 1.0 = at the ceiling (see RATIO_DEFINITION)."""
        if self.ceiling is None:
            return None
        mine, theirs = getattr(self.summary, stat), getattr(self.ceiling, stat)
        if self.kind == LATENCY or (self.kind == VALUE and self.lower_is_better):
            return theirs / mine if mine else None
        return mine / theirs if theirs else None

    def to_json(self) -> dict[str, Any]:
        """The figure as a JSON-ready dict."""
        met = self.target.met(self) if self.target else None
        return {
            "scenario": self.scenario,
            "name": self.name,
            "variant": self.variant,
            "kind": self.kind,
            "unit": {LATENCY: "ns/op", THROUGHPUT: "MiB/s"}.get(self.kind, self.unit),
            "summary": vars(self.summary),
            "ops_per_s": self.summary.ops_per_s() if self.kind == LATENCY else None,
            "ceiling": {"name": self.ceiling_name, "summary": vars(self.ceiling)} if self.ceiling else None,
            "ratio_p50": self.ratio("p50"),
            "ratio_p99": self.ratio("p99"),
            "interleaved": self.interleaved,
            "target": {"text": self.target.text, "met": met} if self.target else None,
            "info": self.info,
            **({"cdf": {"percentiles": list(CDF_PERCENTILES), **self.cdf}} if self.cdf else {}),
        }


@dataclass
class Contender:
    """An operation to time: ``op()`` is called ``batch`` times per sample (batch > 1 for sub-µs ops).

    ``setup``, when given, runs before each sample, untimed (fresh data for an upload, a new session).
    """

    name: str
    op: Callable[[], object]
    batch: int = 1
    setup: Callable[[], object] | None = None


def take_samples(
    op: Callable[[], object], count: int, batch: int = 1, setup: Callable[[], object] | None = None
) -> list[float]:
    """``count`` samples of ``op`` in ns per call, each over ``batch`` calls (after an untimed setup)."""
    clock = time.perf_counter_ns
    out: list[float] = []
    append = out.append
    if setup is not None:
        for _ in range(count):
            setup()
            start = clock()
            for _ in range(batch):
                op()
            append((clock() - start) / batch)
        return out
    if batch == 1:
        for _ in range(count):
            start = clock()
            op()
            append(clock() - start)
        return out
    calls = range(batch)
    for _ in range(count):
        start = clock()
        for _ in calls:
            op()
        append((clock() - start) / batch)
    return out


def timer_overhead_ns() -> float:
    """What one empty timed sample costs (the floor under every per-op figure)."""
    return Summary.of(take_samples(lambda: None, 20_000)).p50


class Context:
    """What a scenario gets: the mode, counts, progress, temporary space and the figure list."""

    def __init__(self, *, quick: bool, progress: Progress, tmp_root: Path) -> None:
        self.quick = quick
        self.progress = progress
        self.tmp_root = tmp_root
        self.figures: list[Figure] = []
        self.notes: list[str] = []
        self.scenario = ""

    def count(self, full: int, quick: int) -> int:
        """The sample count for this mode."""
        return quick if self.quick else full

    def tempdir(self, name: str) -> Path:
        """A fresh directory on the same file system as the repo's default store (fsync is real there)."""
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.tmp_root))

    def note(self, text: str) -> None:
        """A remark that goes to stderr and into the JSON (a skipped peer, a missing tool)."""
        self.notes.append(f"{self.scenario}: {text}")
        self.progress.note(f"bench: {self.scenario}: {text}")

    def record(self, figure: Figure) -> Figure:
        """Adds a figure to the run."""
        self.figures.append(figure)
        return figure

    def interleave(
        self,
        contenders: Sequence[Contender],
        samples: int,
        *,
        rounds: int = 10,
        warmup: int = 0,
        label: str = "",
    ) -> dict[str, Summary]:
        """Samples every contender in A/B/A/B rounds; returns each one's summary.

        Each round takes samples/rounds samples of each contender in turn, so slow drifts in the
        machine's load (other builds on the shared cores) land on all of them alike.
        """
        found = self.interleave_raw(contenders, samples, rounds=rounds, warmup=warmup, label=label)
        return {name: Summary.of(values) for name, values in found.items()}

    def interleave_raw(
        self,
        contenders: Sequence[Contender],
        samples: int,
        *,
        rounds: int = 10,
        warmup: int = 0,
        label: str = "",
    ) -> dict[str, list[float]]:
        """``interleave``, returning every contender's samples (ns per op) instead of their summary."""
        rounds = max(1, min(rounds, samples))
        per_round = math.ceil(samples / rounds)
        for contender in contenders:
            take_samples(contender.op, warmup, contender.batch, contender.setup)
        collected: dict[str, list[float]] = {c.name: [] for c in contenders}
        gc.collect()
        for number in range(rounds):
            self.progress.step(f"{label or contenders[0].name}: round {number + 1}/{rounds}")
            for contender in contenders:
                collected[contender.name] += take_samples(contender.op, per_round, contender.batch, contender.setup)
        return collected
