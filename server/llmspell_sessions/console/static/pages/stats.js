// #/stats: the tenant's storage (logical vs stored bytes, dedup, compression) with small SVG charts.
import { call } from "../api.js";
import { bytes, fill, h, showError } from "../dom.js";

const SVG = "http://www.w3.org/2000/svg";
const EVERY_MS = 5000;
const SAMPLES = 60;

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

export async function statsPage(main) {
  const numbers = h("dl", { class: "facts", dataset: { testid: "stats-numbers" } });
  const bars = h("div", { dataset: { testid: "stats-chart" } });
  const trend = h("div", { dataset: { testid: "stats-trend" } });
  const samples = [];

  async function refresh() {
    try {
      const s = await call("ArtifactService", "GetStorageStats", {});
      samples.push(s);
      if (samples.length > SAMPLES) samples.shift();
      fill(numbers, ...[["artifacts", s.artifact_count], ["logical", bytes(s.logical_bytes)], ["stored", bytes(s.stored_bytes)],
        ["unique chunks", s.unique_chunks], ["dedup ratio", `×${Number(s.dedup_ratio).toFixed(2)}`], ["compression ratio", `×${Number(s.compression_ratio).toFixed(2)}`]]
        .flatMap(([k, v]) => [h("dt", { text: k }), h("dd", { dataset: { testid: `stat-${k.replace(/ /g, "-")}` }, text: v })]));
      fill(bars, barChart([["logical", Number(s.logical_bytes)], ["stored", Number(s.stored_bytes)]]));
      fill(trend, sparkline(samples.map((x) => Number(x.stored_bytes))));
    } catch (error) { showError(error); }
  }
  fill(main, h("h1", { text: "Storage" }), h("p", { class: "muted", text: "Artifacts of every session you can see in this tenant." }),
    numbers, h("h2", { text: "Logical vs stored bytes" }), bars, h("h2", { text: "Stored bytes while this page is open" }), trend);
  await refresh();
  const timer = setInterval(refresh, EVERY_MS);
  return { close: () => clearInterval(timer) };
}

function barChart(values) {
  const width = 420, bar = 26, gap = 12, label = 70;
  const max = Math.max(1, ...values.map(([, v]) => v));
  return svg("svg", { width, height: values.length * (bar + gap), role: "img", "aria-label": "logical and stored bytes" },
    ...values.map(([name, v], i) => svg("g", { transform: `translate(0 ${i * (bar + gap)})` },
      svg("text", { x: 0, y: bar * 0.7, class: "chart-label" }, name),
      svg("rect", { x: label, y: 0, height: bar, width: Math.max(1, ((width - label - 90) * v) / max), class: `bar bar-${name}` }),
      svg("text", { x: label + 4 + ((width - label - 90) * v) / max, y: bar * 0.7, class: "chart-value" }, bytes(v)))));
}

function sparkline(samples) {
  const width = 420, height = 60;
  const points = samples.length === 1 ? [samples[0], samples[0]] : samples; // one sample: a flat line
  const max = Math.max(1, ...points), min = Math.min(...points, max);
  const span = Math.max(1, max - min);
  const xy = points.map((v, i) => `${points.length > 1 ? (i * width) / (points.length - 1) : 0},${height - 4 - ((v - min) * (height - 8)) / span}`);
  return svg("svg", { width, height, role: "img", "aria-label": "stored bytes over time" },
    svg("polyline", { points: xy.join(" "), class: "trend" }));
}
