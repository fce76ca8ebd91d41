// A session's events: one page at a time (filter by type prefix, jump to a seq), and a live tail
// of the events appended since the page opened.
import { call, stream } from "../api.js";
import { fill, h, showError, when } from "../dom.js";

export const EVENTS_PAGE = 100;
const LIVE_ROWS = 200; // the live tail keeps the newest rows only

export function timeline(sessionId, lastSeq, onPick) {
  const types = h("input", { placeholder: "type prefix (e.g. tool.)", dataset: { testid: "events-type" } });
  const after = h("input", { type: "number", min: 0, placeholder: "after seq", dataset: { testid: "events-after" } });
  const rows = h("tbody", { dataset: { testid: "events-rows" } });
  const liveRows = h("tbody", { dataset: { testid: "live-rows" } });
  const more = h("button", { type: "button", dataset: { testid: "events-more" }, hidden: true }, "Load more");
  const live = h("input", { type: "checkbox", checked: true, dataset: { testid: "live-toggle" } });
  let nextToken = "";
  let tail = null;
  let highlighted = null;

  async function load(reset) {
    const request = { session_id: sessionId, after_seq: Number(after.value || 0), types: prefixes(), page_size: EVENTS_PAGE, page_token: reset ? "" : nextToken };
    try {
      const page = await call("ReplayService", "ListEvents", request);
      if (reset) rows.replaceChildren();
      rows.append(...page.events.map((e) => eventRow(e)));
      nextToken = page.next_page_token;
      more.hidden = !nextToken;
    } catch (error) { showError(error); }
  }
  const prefixes = () => types.value.split(",").map((t) => t.trim()).filter(Boolean);

  function follow() {
    if (tail) tail.abort();
    tail = null;
    if (!live.checked) return;
    tail = new AbortController();
    const request = { session_id: sessionId, after_seq: lastSeq, types: prefixes() };
    stream("/api/subscribe", request, (event) => {
      lastSeq = Math.max(lastSeq, Number(event.seq));
      liveRows.prepend(eventRow(event, "live-row"));
      while (liveRows.children.length > LIVE_ROWS) liveRows.lastChild.remove();
    }, tail.signal).catch(showError);
  }

  function eventRow(e, testid = "event-row") {
    const tr = h("tr", { dataset: { testid, seq: e.seq }, class: "clickable", onclick: () => onPick(Number(e.seq)) },
      h("td", { class: "num", text: e.seq }), h("td", { class: "mono", text: e.type }), h("td", { text: e.actor }),
      h("td", { text: when(e.time) }), h("td", { class: "mono small", text: e.correlation_id }));
    return tr;
  }

  const form = h("form", { class: "filters", onsubmit: (event) => { event.preventDefault(); load(true); follow(); } },
    types, after, h("button", { type: "submit", dataset: { testid: "events-apply" } }, "Filter"),
    h("label", {}, live, " live tail"));
  live.onchange = follow;
  more.onclick = () => load(false);
  const head = () => h("thead", {}, h("tr", {}, ["Seq", "Type", "Actor", "Time", "Correlation"].map((t) => h("th", { text: t }))));
  const el = h("section", { class: "panel" }, h("h2", { text: "Timeline" }), form,
    h("table", { class: "list live" }, head(), liveRows),
    h("table", { class: "list" }, head(), rows), more);
  return {
    el,
    start: async () => { await load(true); follow(); },
    close: () => { if (tail) tail.abort(); },
    highlight(seq) {
      if (highlighted) highlighted.classList.remove("current");
      highlighted = rows.querySelector(`tr[data-seq="${seq}"]`) || liveRows.querySelector(`tr[data-seq="${seq}"]`);
      if (highlighted) { highlighted.classList.add("current"); highlighted.scrollIntoView({ block: "nearest" }); }
    },
    lastSeq: () => lastSeq,
  };
}
