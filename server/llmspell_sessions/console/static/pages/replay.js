// The controlled replay (play, pause, step, speed, breakpoints) driving the timeline and the state.
import { call, stream } from "../api.js";
import { enumName, fill, h, showError } from "../dom.js";

const LOG_ROWS = 100;

export function replayPanel(sessionId, onFrame) {
  const mode = h("select", { dataset: { testid: "replay-mode" } },
    [["REPLAY_MODE_STEP", "step"], ["REPLAY_MODE_TIMED", "timed"], ["REPLAY_MODE_FAST", "fast"]].map(([v, t]) => h("option", { value: v, text: t })));
  const speed = h("input", { type: "number", min: 0.1, max: 10, step: 0.1, value: 1, dataset: { testid: "replay-speed" } });
  const fromSeq = h("input", { type: "number", min: 0, value: 0, title: "from seq", dataset: { testid: "replay-from" } });
  const breaks = h("input", { placeholder: "breakpoints: seqs or exact types (3, tool.call)", dataset: { testid: "replay-breakpoints" } });
  const status = h("span", { class: "pill", dataset: { testid: "replay-status" }, text: "idle" });
  const position = h("span", { class: "muted", dataset: { testid: "replay-position" } });
  const log = h("ol", { class: "replay-log", dataset: { testid: "replay-log" } });
  let replayId = null;
  let running = null;

  // "3, tool." -> seqs [3] and event types ["tool."]
  function breakpoints() {
    const points = breaks.value.split(",").map((b) => b.trim()).filter(Boolean);
    return { seqs: points.filter((p) => /^\d+$/.test(p)).map(Number), event_types: points.filter((p) => !/^\d+$/.test(p)) };
  }

  async function start() {
    stop();
    const body = { session_id: sessionId, from_seq: Number(fromSeq.value || 0), mode: mode.value, speed: Number(speed.value || 1), breakpoints: breakpoints() };
    running = new AbortController();
    log.replaceChildren();
    status.textContent = "starting";
    stream("/api/replay", body, (item) => {
      if (item.replay_id) { replayId = item.replay_id; status.textContent = "started"; status.dataset.replay = "on"; return; }
      frame(item);
    }, running.signal).catch(showError).finally(() => { replayId = null; delete status.dataset.replay; });
  }

  function showStatus(text) {
    status.textContent = text;
    status.dataset.status = text;
  }

  function frame(f) {
    showStatus(enumName(f.status, "REPLAY_STATUS_"));
    if (!f.event) return;
    position.textContent = `${f.index}/${f.total} · seq ${f.event.seq} · ${f.event.type}`;
    position.dataset.seq = f.event.seq;
    log.prepend(h("li", { dataset: { seq: f.event.seq } }, `#${f.event.seq} ${f.event.type}`,
      f.changed_keys.length ? h("span", { class: "muted", text: ` changed: ${f.changed_keys.join(", ")}` }) : ""));
    while (log.children.length > LOG_ROWS) log.lastChild.remove();
    onFrame(Number(f.event.seq));
  }

  // Frames carry the status after their event, and a pause or resume sends none: once the server took
  // one, the status shown follows it as the replay's own does (pause holds a running replay; resume
  // runs a paused one, or one at a breakpoint).
  const AFTER = { pause: [["running"], "paused"], resume: [["paused", "at_breakpoint"], "running"] };

  async function control(message) {
    if (!replayId) return showError(new Error("no replay is running: press Play"));
    try {
      await call("replay", "control", { replay_id: replayId, control: message });
      const [from, to] = AFTER[Object.keys(message)[0]] || [[], ""];
      if (from.includes(status.textContent)) showStatus(to);
    } catch (error) { showError(error); }
  }

  function stop() {
    if (replayId) control({ stop: {} });
    if (running) running.abort();
    running = null;
  }

  const button = (label, testid, onclick) => h("button", { type: "button", dataset: { testid }, onclick }, label);
  const el = h("section", { class: "panel" }, h("h2", { text: "Replay" }),
    h("div", { class: "filters" }, "mode ", mode, " speed ", speed, " from seq ", fromSeq, breaks),
    h("div", { class: "buttons" },
      button("▶ Play", "replay-start", start), button("⏸ Pause", "replay-pause", () => control({ pause: {} })),
      button("⏵ Resume", "replay-resume", () => control({ resume: {} })), button("⏭ Step", "replay-step", () => control({ step: {} })),
      button("Speed", "replay-set-speed", () => control({ set_speed: { speed: Number(speed.value || 1) } })),
      button("+ Breakpoints", "replay-add-breakpoints", () => {
        const { seqs, event_types: types } = breakpoints();
        seqs.forEach((seq) => control({ add_breakpoint: { seq } }));
        types.forEach((type) => control({ add_breakpoint: { event_type: type } }));
      }),
      button("⏹ Stop", "replay-stop", stop), status, position),
    log);
  return { el, close: stop };
}
