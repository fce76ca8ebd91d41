"""PNG plots of a run: artifact throughput against size beside the ceilings, the dedup / compression
ratios, latency CDFs of the session operations (embedded, gRPC, concurrent, agent mix) beside their
ceilings' CDFs, and session throughput against the number of concurrent clients beside the echo.
Written to ``bench/plots/`` by ``bench.run`` after each run when matplotlib is installed (it is not a
dependency of the package: ``pip install matplotlib`` into the venv), or by hand:
``python -m bench.plots [RESULTS.json]`` (default: the newest ``bench/results/*.json``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "plots"
KIB, MIB = 1024, 1024 * 1024


def _series(figures: list[dict[str, Any]], scenario: str, name: str, ceiling: bool = False) -> list[tuple[int, float]]:
    points = {}
    for f in figures:
        if f["scenario"] == scenario and f["name"] == name and "bytes" in f["info"]:
            summary = f["ceiling"]["summary"] if ceiling else f["summary"]
            points[f["info"]["bytes"]] = summary["p50"]
    return sorted(points.items())


def _size_label(size: float) -> str:
    return f"{size / MIB:g} MiB" if size >= MIB else f"{size / KIB:g} KiB"


def throughput(document: dict[str, Any], out: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = document["figures"]
    panels = [
        (
            "Uploads (UploadArtifact, 1 MiB messages)",
            "uploads",
            ["upload new random", "upload new json", "upload already stored"],
            "grpc sink",
        ),
        (
            "Downloads (DownloadArtifact, BLAKE3-verified)",
            "downloads",
            ["download random", "download json"],
            "grpc source",
        ),
        (
            "Peers, same rounds (new random / verified reads)",
            "peers",
            [
                "llmspell UploadArtifact",
                "buildgrid ByteStream Write",
                "bazel-remote ByteStream Write",
                "llmspell DownloadArtifact",
                "buildgrid ByteStream Read",
                "bazel-remote ByteStream Read",
            ],
            "",
        ),
    ]
    panels = [p for p in panels if any(f["scenario"] == p[1] for f in figures)]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(6.2 * len(panels), 4.8), squeeze=False)
    for axis, (title, scenario, names, ceiling) in zip(axes[0], panels, strict=True):
        for name in names:
            points = _series(figures, scenario, name)
            if points:
                style = "--" if "Read" in name or "Download" in name else "-"
                axis.plot([p[0] for p in points], [p[1] for p in points], style, marker="o", label=name)
        ceilings = [ceiling] if ceiling else ["grpc sink", "grpc source"]
        for ceiling_name in ceilings:
            source_name = next(
                (
                    f["name"]
                    for f in figures
                    if f["scenario"] == scenario and f["ceiling"] and f["ceiling"]["name"] == ceiling_name
                ),
                None,
            )
            if source_name:
                points = _series(figures, scenario, source_name, ceiling=True)
                axis.plot(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    ":" if "sink" in ceiling_name else "-.",
                    color="black",
                    marker="s" if "sink" in ceiling_name else "^",
                    label=f"ceiling: {ceiling_name} (bare grpc.aio)",
                )
        axis.set_xscale("log")
        axis.set_yscale("log")
        sizes = sorted({x for line in axis.get_lines() for x in line.get_xdata()})
        axis.set_xticks(sizes, [_size_label(s) for s in sizes])
        axis.minorticks_off()
        axis.set_xlabel("artifact size")
        axis.set_ylabel("MiB/s per transfer (p50)")
        axis.set_title(title, fontsize=10)
        axis.grid(True, which="major", alpha=0.3)
        axis.legend(fontsize=7)
    fig.suptitle(
        f"llmspell-sessions throughput vs artifact size ({document['mode']} run {document['timestamp']})", fontsize=11
    )
    fig.tight_layout()
    path = out / "throughput_vs_size.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ratios(document: dict[str, Any], out: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [f for f in document["figures"] if f["scenario"] == "dedup"]
    if not rows:
        return None
    variants = list(dict.fromkeys(f["variant"] for f in rows))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for axis, name, ceiling in (
        (axes[0], "dedup_ratio", "segment-level ideal"),
        (axes[1], "compression_ratio", "raw LZ4, 64 KiB blocks"),
    ):
        values = [next(f for f in rows if f["name"] == name and f["variant"] == v) for v in variants]
        xs = range(len(variants))
        axis.bar([x - 0.2 for x in xs], [v["summary"]["p50"] for v in values], 0.4, label=f"{name} (GetStorageStats)")
        axis.bar(
            [x + 0.2 for x in xs],
            [v["ceiling"]["summary"]["p50"] for v in values],
            0.4,
            label=ceiling,
            color="lightgray",
            edgecolor="black",
        )
        for x, v in zip(xs, values, strict=True):
            axis.annotate(
                f"{v['summary']['p50']:.2f}x", (x - 0.2, v["summary"]["p50"]), ha="center", va="bottom", fontsize=8
            )
        axis.set_xticks(list(xs), variants)
        axis.set_ylabel("ratio (x)")
        axis.set_title(name, fontsize=10)
        axis.legend(fontsize=8)
        axis.grid(True, axis="y", alpha=0.3)
    fig.suptitle(
        f"Dedup and compression of transcript mixes ({document['mode']} run {document['timestamp']})", fontsize=11
    )
    fig.tight_layout()
    path = out / "dedup_compression.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _cdf_line(axis: Any, percentiles: list[float], values: list[float], **style: Any) -> None:
    axis.plot([v / 1000 for v in values], percentiles, **style)


def latency_cdf(document: dict[str, Any], out: Path) -> Path | None:
    """One panel per group of session figures that kept their CDF: each figure solid, its ceiling dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kept = [f for f in document["figures"] if f.get("cdf") and f["kind"] == "latency"]
    panels = [
        (
            "Embedded, RocksDB backend (one thread)",
            [f for f in kept if f["scenario"] == "embedded" and f["variant"] == "rocksdb"],
        ),
        ("gRPC unary, one blocking client", [f for f in kept if f["scenario"] == "grpc"]),
        ("gRPC session mix, N concurrent clients", [f for f in kept if f["scenario"] == "concurrency"]),
        ("Agent mix over gRPC, 8 agents", [f for f in kept if f["scenario"] == "agent-mix"]),
    ]
    panels = [(title, rows) for title, rows in panels if rows]
    if not panels:
        return None
    from matplotlib.ticker import NullFormatter

    columns = min(2, len(panels))
    lines = math.ceil(len(panels) / columns)
    fig, axes = plt.subplots(lines, columns, figsize=(6.6 * columns, 4.6 * lines), squeeze=False)
    for spare in axes.flat[len(panels) :]:
        spare.set_visible(False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for axis, (title, rows) in zip(axes.flat, panels, strict=False):
        ceilings_drawn: set[str] = set()
        for index, f in enumerate(rows):
            color = colors[index % len(colors)]
            percentiles = f["cdf"]["percentiles"]
            label = f["name"] if f["scenario"] in ("embedded", "grpc", "agent-mix") else f["variant"]
            _cdf_line(axis, percentiles, f["cdf"]["figure"], color=color, label=label)
            if "ceiling" not in f["cdf"]:
                continue
            if f["scenario"] in ("embedded", "grpc"):  # one shared ceiling per name: drawn once, in black
                if f["ceiling"]["name"] in ceilings_drawn:
                    continue
                ceilings_drawn.add(f["ceiling"]["name"])
                style = {"color": "black", "linestyle": ["--", ":", "-."][len(ceilings_drawn) % 3]}
                ceiling_label = f"ceiling: {f['ceiling']['name']}"
            else:  # a ceiling per line (same level / same sizes): dashed, in the line's colour
                style, ceiling_label = {"color": color, "linestyle": "--"}, None
            _cdf_line(axis, percentiles, f["cdf"]["ceiling"], label=ceiling_label, linewidth=1, **style)
        if title.startswith(("gRPC session mix", "Agent mix")):
            axis.plot([], [], "k--", linewidth=1, label="dashed: bare echo, same sizes / clients")
        axis.set_xscale("log")
        axis.xaxis.set_minor_formatter(NullFormatter())
        axis.set_ylim(0, 100)
        axis.set_xlabel("latency per operation (µs, log)")
        axis.set_ylabel("percentile")
        axis.set_title(title, fontsize=10)
        axis.grid(True, which="major", alpha=0.3)
        axis.legend(fontsize=7, loc="lower right")
    fig.suptitle(f"Session operation latency CDFs ({document['mode']} run {document['timestamp']})", fontsize=11)
    fig.tight_layout()
    path = out / "latency_cdf.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def throughput_vs_clients(document: dict[str, Any], out: Path) -> Path | None:
    """Session-mix ops/s against the number of concurrent clients, beside the echo, and their ratio."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [f for f in document["figures"] if f["scenario"] == "concurrency" and f["name"] == "session mix ops/s"]
    if not rows:
        return None
    rows.sort(key=lambda f: f["info"]["clients"])
    clients = [f["info"]["clients"] for f in rows]
    fig, axis = plt.subplots(figsize=(7.2, 4.8))
    for key, label, style in (
        ("summary", "llmspell-sessions (Create/Get/SetState mix)", {"marker": "o"}),
        ("ceiling", "ceiling: bare grpc.aio echo, same sizes", {"marker": "s", "color": "black", "linestyle": "--"}),
    ):
        summaries = [f[key] if key == "summary" else f["ceiling"]["summary"] for f in rows]
        p50 = [s["p50"] for s in summaries]
        below = [m - s["min"] for m, s in zip(p50, summaries, strict=True)]
        above = [s["max"] - m for m, s in zip(p50, summaries, strict=True)]
        spread = [below, above]
        axis.errorbar(clients, p50, yerr=spread, capsize=3, label=label, **style)
    ratio_axis = axis.twinx()
    ratio_axis.plot(clients, [f["ratio_p50"] for f in rows], ":", color="tab:green", marker="^", label="ratio")
    ratio_axis.set_ylim(0, 1.05)
    ratio_axis.set_ylabel("ratio (service / echo)", color="tab:green")
    axis.set_xscale("log", base=2)
    axis.set_xticks(clients, [str(c) for c in clients])
    axis.minorticks_off()
    axis.set_ylim(bottom=0)
    axis.set_xlabel("concurrent clients (one channel each)")
    axis.set_ylabel("total ops/s (p50 of rounds; bars: min-max)")
    axis.grid(True, alpha=0.3)
    lines = axis.get_legend_handles_labels()
    extra = ratio_axis.get_legend_handles_labels()
    axis.legend(lines[0] + extra[0], lines[1] + extra[1], fontsize=8, loc="lower right")
    axis.set_title(
        f"Session ops/s vs concurrent clients, server on one core ({document['mode']} run {document['timestamp']})",
        fontsize=10,
    )
    fig.tight_layout()
    path = out / "throughput_vs_clients.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write(document: dict[str, Any], out: Path = OUT) -> list[Path]:
    """Every plot the run's figures allow; ImportError when matplotlib is missing."""
    import matplotlib  # noqa: F401  (fail early and clearly)

    out.mkdir(parents=True, exist_ok=True)
    made = (
        throughput(document, out),
        ratios(document, out),
        latency_cdf(document, out),
        throughput_vs_clients(document, out),
    )
    return [p for p in made if p is not None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.plots", description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path, help="a bench/results JSON (default: the newest)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    path = args.results or max((ROOT / "bench" / "results").glob("2*.json"), key=lambda p: p.name)
    for written in write(json.loads(path.read_text()), args.out):
        print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
