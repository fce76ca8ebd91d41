// #/sessions/<id>: the header and lineage, the timeline, state at any seq, checkpoints and replay.
import { call } from "../api.js";
import { bytes, enumName, fill, h, showError, when } from "../dom.js";
import { replayPanel } from "./replay.js";
import { timeTravel } from "./timetravel.js";
import { timeline } from "./timeline.js";

const ANCESTORS = 5;
const FORKS_SHOWN = 20;
const CHECKPOINTS_PAGE = 50;

/** The session of a route as the caller sees it, or null once a "not found" page is drawn: another
 * tenant's session, an unknown one and a malformed id (GetSession's 404 and 400) all read the same. */
export async function sessionOrNotFound(main, id) {
  try {
    if (id === null) throw Object.assign(new Error("malformed id"), { status: 400 });
    return await call("SessionService", "GetSession", { session_id: id });
  } catch (error) {
    if (error.status !== 404 && error.status !== 400) throw error;
    fill(main, h("div", { class: "notfound", dataset: { testid: "not-found" } },
      h("h1", { text: "Session not found" }), h("p", { text: `No session ${id ?? ""} is visible to you.` }), h("a", { href: "#/sessions", text: "All sessions" })));
    return null;
  }
}

export async function sessionPage(main, id) {
  const session = await sessionOrNotFound(main, id);
  if (session === null) return null;
  const travel = timeTravel(session, (point, what) => fork(session, point, what));
  const events = timeline(id, Number(session.last_event_seq), (seq) => travel.setSeq(seq));
  const replay = replayPanel(id, (seq) => { events.highlight(seq); travel.setSeq(seq); });
  const checkpoints = checkpointPanel(session, travel, (point, what) => fork(session, point, what));
  fill(main,
    header(session), h("div", { class: "lineage-box", dataset: { testid: "lineage" } }, await lineage(session)),
    h("div", { class: "columns" }, h("div", {}, events.el, replay.el), h("div", {}, travel.el, checkpoints.el)));
  await Promise.all([events.start(), travel.start(), checkpoints.load()]);
  return { close: () => { events.close(); replay.close(); } };
}

function header(s) {
  const state = enumName(s.state, "SESSION_STATE_");
  return h("div", { class: "session-head" },
    h("h1", { dataset: { testid: "session-name" }, text: s.name || "(unnamed)" }),
    h("span", { class: `pill state-${state}`, dataset: { testid: "session-state" }, text: state }),
    h("span", { class: "mono small", dataset: { testid: "session-id" }, text: s.session_id }),
    h("dl", { class: "facts" },
      ...fact("created", `${when(s.create_time)} by ${s.created_by}`), ...fact("updated", when(s.update_time)),
      ...fact("events", s.last_event_seq), ...fact("artifacts", `${s.artifact_count} · ${bytes(s.artifact_bytes)}`),
      ...fact("tags", s.tags.join(", ") || "—"), ...(s.failure_reason ? fact("failure", s.failure_reason) : [])),
    h("a", { href: `#/sessions/${encodeURIComponent(s.session_id)}/artifacts`, dataset: { testid: "artifacts-link" }, text: "Artifacts →" }));
}
const fact = (k, v) => [h("dt", { text: k }), h("dd", { text: v })];

async function lineage(s) {
  const ancestors = [];
  let parent = s.parent_session_id;
  while (parent && ancestors.length < ANCESTORS) {
    try { const p = await call("SessionService", "GetSession", { session_id: parent }); ancestors.unshift(p); parent = p.parent_session_id; } catch { break; }
  }
  const forks = await call("SessionService", "ListSessions", { parent_session_id: s.session_id, page_size: FORKS_SHOWN });
  const link = (x, testid) => h("a", { href: `#/sessions/${encodeURIComponent(x.session_id)}`, dataset: { testid }, text: `${x.name || "(unnamed)"} · ${x.session_id.slice(-8)}` });
  let node = h("li", {}, h("b", { text: `${s.name || "(unnamed)"} (this session)` }),
    forks.sessions.length ? h("ul", {}, forks.sessions.map((f) => h("li", {}, link(f, "fork-link")))) : "",
    Number(forks.total_size) > FORKS_SHOWN ? h("span", { class: "muted", text: ` +${forks.total_size - FORKS_SHOWN} more forks` }) : "");
  for (const a of ancestors.reverse()) node = h("li", {}, link(a, "parent-link"), h("ul", {}, node));
  return [h("h2", { text: "Lineage" }), h("ul", { class: "lineage" }, node)];
}

async function fork(session, point, what) {
  if (!window.confirm(`Fork "${session.name || session.session_id}" at ${what} into a new session?`)) return;
  try {
    const created = await call("ReplayService", "ForkSession", { session_id: session.session_id, ...point, name: `${session.name || "session"} (fork at ${what})` });
    location.hash = `#/sessions/${encodeURIComponent(created.session_id)}`;
  } catch (error) { showError(error); }
}

function checkpointPanel(session, travel, onFork) {
  const rows = h("tbody", { dataset: { testid: "checkpoint-rows" } });
  const label = h("input", { placeholder: "label", dataset: { testid: "checkpoint-label" } });
  const more = h("button", { type: "button", hidden: true }, "Load more");
  let token = "";
  async function load(reset = true) {
    try {
      const page = await call("ReplayService", "ListCheckpoints", { session_id: session.session_id, page_size: CHECKPOINTS_PAGE, page_token: reset ? "" : token });
      if (reset) rows.replaceChildren();
      rows.append(...page.checkpoints.map(row));
      token = page.next_page_token;
      more.hidden = !token;
    } catch (error) { showError(error); }
  }
  more.onclick = () => load(false);
  async function create(event) {
    event.preventDefault();
    if (!window.confirm(`Create a checkpoint "${label.value}" at the session's latest event?`)) return;
    try { await call("ReplayService", "CreateCheckpoint", { session_id: session.session_id, label: label.value }); label.value = ""; await load(); } catch (error) { showError(error); }
  }
  async function rewind(cp) {
    if (!window.confirm(`Rewind "${session.name || session.session_id}" to checkpoint "${cp.label}" (seq ${cp.seq})? Its state and artifacts go back to that point.`)) return;
    try {
      const current = await call("SessionService", "GetSession", { session_id: session.session_id });
      await call("ReplayService", "RewindSession", { session_id: session.session_id, checkpoint_id: cp.checkpoint_id, etag: current.etag });
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    } catch (error) { showError(error); }
  }
  const row = (cp) => h("tr", { dataset: { testid: "checkpoint-row", seq: cp.seq } },
    h("td", { text: cp.label || "—" }), h("td", { class: "num", text: cp.seq }), h("td", { text: when(cp.create_time) }),
    h("td", {}, h("button", { type: "button", onclick: () => travel.setSeq(Number(cp.seq)) }, "View"),
      h("button", { type: "button", dataset: { testid: "checkpoint-fork" }, onclick: () => onFork({ checkpoint_id: cp.checkpoint_id }, `checkpoint "${cp.label}"`) }, "Fork"),
      h("button", { type: "button", dataset: { testid: "checkpoint-rewind" }, onclick: () => rewind(cp) }, "Rewind")));
  const el = h("section", { class: "panel" }, h("h2", { text: "Checkpoints" }),
    h("form", { class: "filters", onsubmit: create }, label, h("button", { type: "submit", dataset: { testid: "checkpoint-create" } }, "Create checkpoint")),
    h("table", { class: "list" }, h("thead", {}, h("tr", {}, ["Label", "Seq", "Created", ""].map((t) => h("th", { text: t })))), rows), more);
  return { el, load };
}
