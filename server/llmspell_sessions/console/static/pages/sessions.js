// #/sessions: filters, one page at a time (page tokens), live counts per state.
import { call } from "../api.js";
import { enumName, fill, h, showError, when, bytes } from "../dom.js";

const STATES = ["ACTIVE", "SUSPENDED", "COMPLETED", "FAILED", "ARCHIVED"];
const ORDERS = [["create_time desc", "newest first"], ["create_time", "oldest first"], ["update_time desc", "recently updated"], ["name", "name"]];
export const PAGE_SIZE = 50;
const COUNTS_EVERY_MS = 5000;

export async function sessionsPage(main) {
  const f = filters();
  const counts = h("div", { class: "counts", dataset: { testid: "state-counts" } });
  const rows = h("tbody", { dataset: { testid: "sessions-rows" } });
  const total = h("span", { class: "muted", dataset: { testid: "sessions-total" } });
  const prev = h("button", { type: "button", dataset: { testid: "prev-page" }, disabled: true }, "‹ Previous");
  const next = h("button", { type: "button", dataset: { testid: "next-page" }, disabled: true }, "Next ›");
  const tokens = [""]; // page tokens of the pages seen, for Previous
  let page = 0;

  async function load() {
    try {
      const response = await call("SessionService", "ListSessions", { ...f.request(), page_size: PAGE_SIZE, page_token: tokens[page] });
      fill(rows, response.sessions.map(row));
      if (!response.sessions.length) fill(rows, h("tr", {}, h("td", { colspan: 7, class: "muted", text: "No sessions match." })));
      total.textContent = `${response.total_size} sessions · page ${page + 1}`;
      tokens[page + 1] = response.next_page_token;
      next.disabled = !response.next_page_token;
      prev.disabled = page === 0;
    } catch (error) { showError(error); }
  }
  prev.onclick = () => { page -= 1; load(); };
  next.onclick = () => { page += 1; load(); };
  f.form.addEventListener("submit", (event) => { event.preventDefault(); tokens.length = 1; page = 0; load(); });

  async function refreshCounts() {
    const found = await Promise.all(STATES.map((s) => call("SessionService", "ListSessions", { page_size: 1, states: [`SESSION_STATE_${s}`] })
      .then((r) => [s, r.total_size], () => [s, "?"])));
    fill(counts, found.map(([s, n]) => h("span", { class: `count state-${s.toLowerCase()}`, dataset: { testid: `count-${s.toLowerCase()}` } }, h("b", { text: n }), ` ${s.toLowerCase()}`)));
  }
  const timer = setInterval(refreshCounts, COUNTS_EVERY_MS);

  fill(main,
    h("h1", { text: "Sessions" }), counts, f.form,
    h("div", { class: "pager" }, prev, next, total),
    h("table", { class: "list" },
      h("thead", {}, h("tr", {}, ["Name", "State", "Tags", "Created", "Events", "Artifacts", "Id"].map((t) => h("th", { text: t })))),
      rows));
  await Promise.all([load(), refreshCounts()]);
  return { close: () => clearInterval(timer) };
}

function filters() {
  const state = h("select", { name: "state", dataset: { testid: "filter-state" } },
    h("option", { value: "", text: "any state" }), STATES.map((s) => h("option", { value: `SESSION_STATE_${s}`, text: s.toLowerCase() })));
  const tags = h("input", { name: "tags", placeholder: "tags (a,b)", dataset: { testid: "filter-tags" } });
  const search = h("input", { name: "search", placeholder: "name or description", dataset: { testid: "filter-search" } });
  const after = h("input", { name: "after", type: "datetime-local", title: "created after (UTC)", dataset: { testid: "filter-after" } });
  const before = h("input", { name: "before", type: "datetime-local", title: "created before (UTC)", dataset: { testid: "filter-before" } });
  const order = h("select", { name: "order", dataset: { testid: "filter-order" } }, ORDERS.map(([v, t]) => h("option", { value: v, text: t })));
  const form = h("form", { class: "filters", dataset: { testid: "sessions-filters" } },
    state, tags, search, after, before, order, h("button", { type: "submit", dataset: { testid: "apply-filters" } }, "Apply"));
  const utc = (input) => (input.value ? new Date(`${input.value}Z`).toISOString() : undefined);
  return {
    form,
    request: () => ({
      states: state.value ? [state.value] : [],
      tags: tags.value.split(",").map((t) => t.trim()).filter(Boolean),
      search: search.value.trim(),
      create_time_after: utc(after),
      create_time_before: utc(before),
      order_by: order.value,
    }),
  };
}

function row(s) {
  const state = enumName(s.state, "SESSION_STATE_");
  return h("tr", { dataset: { testid: "session-row", sessionId: s.session_id } },
    h("td", {}, h("a", { href: `#/sessions/${encodeURIComponent(s.session_id)}`, text: s.name || "(unnamed)" })),
    h("td", {}, h("span", { class: `pill state-${state}`, text: state })),
    h("td", { text: s.tags.join(", ") }),
    h("td", { text: when(s.create_time) }),
    h("td", { class: "num", text: s.last_event_seq }),
    h("td", { class: "num", text: `${s.artifact_count} · ${bytes(s.artifact_bytes)}` }),
    h("td", { class: "mono small", text: s.session_id }));
}
