// Building the page: every piece of data goes in as textContent or an attribute, never as HTML.

/** h("a", {href: "#/x", dataset: {testid: "y"}, onclick: f}, "text", child) -> an element. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else if (name === "text") el.textContent = String(value);
    else if (name in el && typeof value !== "string") el[name] = value;
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces el's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
export function bytes(value) {
  let n = Number(value || 0);
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) { n /= 1024; unit += 1; }
  return `${unit ? n.toFixed(1) : n} ${UNITS[unit]}`;
}

export function when(text) {
  if (!text) return "";
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? String(text) : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** "SESSION_STATE_ACTIVE" -> "active". */
export function enumName(value, prefix) {
  return String(value || "").replace(prefix, "").toLowerCase();
}

/** A JSON value as a collapsible tree (objects and arrays as <details>, leaves as text). */
export function jsonTree(value, name = null, depth = 0) {
  const label = name === null ? [] : [h("span", { class: "key", text: name }), ": "];
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0);
    const kind = Array.isArray(value) ? `[${entries.length}]` : `{${entries.length}}`;
    return h("details", { class: "tree", open: depth < 2 },
      h("summary", {}, ...label, h("span", { class: "muted", text: kind })),
      h("div", { class: "children" }, entries.map(([k, v]) => jsonTree(v, k, depth + 1))));
  }
  return h("div", { class: "leaf" }, ...label, h("span", { class: `v-${value === null ? "null" : typeof value}`, text: JSON.stringify(value) }));
}

/** JSON text with object keys sorted at every level (what the tests compare). */
export function canonical(value) {
  return JSON.stringify(value, (key, v) => (v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)) : v));
}

const banner = () => document.getElementById("banner");
export function showError(error) {
  if (error && error.status === 401) return; // the token form is shown instead
  const el = banner();
  const code = error.code ? `${error.code}${error.reason ? ` (${error.reason})` : ""}: ` : "";
  fill(el, h("span", { text: `${code}${error.message}` }), h("button", { type: "button", onclick: () => { el.hidden = true; } }, "×"));
  el.hidden = false;
}
export function clearError() { banner().hidden = true; }

/** fn after ms of quiet. */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
}
