// State at any seq (a slider, or a click on an event) as a JSON tree, and the diff between two seqs.
import { call } from "../api.js";
import { canonical, debounce, fill, h, jsonTree, showError } from "../dom.js";

export function timeTravel(session, onFork) {
  const id = session.session_id;
  let max = Number(session.last_event_seq);
  // Seqs count from 1 (session.created): there is no state before the first event.
  const slider = h("input", { type: "range", min: 1, max, value: max, dataset: { testid: "seq-slider" } });
  const number = h("input", { type: "number", min: 1, max, value: max, dataset: { testid: "seq-input" } });
  const tree = h("div", { class: "tree-box", dataset: { testid: "state-tree" } });
  const raw = h("pre", { class: "raw", hidden: true, dataset: { testid: "state-json" } });
  const shown = h("span", { class: "muted", dataset: { testid: "state-seq" } });
  const diffBox = h("div", { dataset: { testid: "diff" } });
  const from = h("input", { type: "number", min: 1, value: Math.max(1, max - 1), dataset: { testid: "diff-from" } });
  const to = h("input", { type: "number", min: 1, value: max, dataset: { testid: "diff-to" } });
  let wanted = max;

  async function show(seq) {
    try {
      const snapshot = await call("ReplayService", "GetSnapshot", { session_id: id, at_seq: seq });
      if (seq !== wanted) return; // a newer request is on its way
      fill(tree, Object.keys(snapshot.state).length ? jsonTree(snapshot.state) : h("p", { class: "muted", text: "(empty state)" }));
      raw.textContent = canonical(snapshot.state);
      shown.textContent = `state at seq ${snapshot.seq} · ${snapshot.artifacts.length} artifacts`;
      shown.dataset.seq = String(seq);
    } catch (error) { showError(error); }
  }
  const showSoon = debounce(show, 150);

  function setSeq(seq, immediate = false) {
    if (seq > max) { max = seq; slider.max = number.max = String(max); }
    wanted = seq;
    slider.value = number.value = String(seq);
    shown.dataset.seq = "";
    (immediate ? show : showSoon)(seq);
  }
  slider.oninput = () => setSeq(Number(slider.value));
  number.onchange = () => setSeq(Number(number.value));

  async function compare(event) {
    event.preventDefault();
    try {
      const diff = await call("ReplayService", "CompareSnapshots", { session_id: id, from: { seq: Number(from.value) }, to: { seq: Number(to.value) } });
      fill(diffBox, diffView(diff));
    } catch (error) { showError(error); }
  }

  const fork = h("button", { type: "button", dataset: { testid: "fork-here" }, onclick: () => onFork({ at_seq: wanted }, `seq ${wanted}`) }, "Fork at this seq");
  const el = h("section", { class: "panel" },
    h("h2", { text: "State" }),
    h("div", { class: "slider" }, slider, number, fork), shown, tree, raw,
    h("h3", { text: "Compare" }),
    h("form", { class: "filters", onsubmit: compare }, "from seq ", from, " to seq ", to, h("button", { type: "submit", dataset: { testid: "diff-run" } }, "Compare")),
    diffBox);
  return { el, setSeq, start: () => show(max) };
}

function diffView(diff) {
  const rows = [];
  for (const [k, v] of Object.entries(diff.state_added)) rows.push(["added", k, undefined, v]);
  for (const [k, v] of Object.entries(diff.state_removed)) rows.push(["removed", k, v, undefined]);
  for (const [k, c] of Object.entries(diff.state_changed)) rows.push(["changed", k, c.old_value, c.new_value]);
  rows.sort((a, b) => (a[1] < b[1] ? -1 : 1));
  const text = (v) => (v === undefined ? "" : JSON.stringify(v));
  return [
    h("p", { class: "muted", text: `${diff.events_between} events between · ${diff.artifacts_added.length} artifacts added · ${diff.artifacts_removed.length} removed` }),
    h("table", { class: "list" },
      h("thead", {}, h("tr", {}, ["", "Key", "Before", "After"].map((t) => h("th", { text: t })))),
      h("tbody", {}, rows.map(([kind, k, a, b]) => h("tr", { class: `diff-${kind}`, dataset: { testid: "diff-row", key: k, kind } },
        h("td", { text: kind }), h("td", { class: "mono", text: k }), h("td", { class: "mono", text: text(a) }), h("td", { class: "mono", text: text(b) }))))),
  ];
}
