// The single-page app: hash routes, the token form, and which page draws #main.
import { ApiError, call, resetRequestCount, token } from "./api.js";
import { clearError, fill, h, showError } from "./dom.js";
import { sessionsPage } from "./pages/sessions.js";
import { sessionPage } from "./pages/session.js";
import { artifactsPage } from "./pages/artifacts.js";
import { statsPage } from "./pages/stats.js";

const main = () => document.getElementById("main");
let current = null; // the page shown: {close()} stops its timers and streams

/** A route's id as text; null when its %-escapes are malformed (the page says "not found"). */
function decoded(part) {
  try { return decodeURIComponent(part); } catch { return null; }
}

const ROUTES = [
  [/^#\/sessions\/([^/]+)\/artifacts$/, (m) => artifactsPage(main(), decoded(m[1]))],
  [/^#\/sessions\/([^/]+)$/, (m) => sessionPage(main(), decoded(m[1]))],
  [/^#\/stats$/, () => statsPage(main())],
  [/^#\/sessions$/, () => sessionsPage(main())],
];

async function route() {
  if (current && current.close) current.close();
  current = null;
  clearError();
  resetRequestCount();
  const hash = location.hash || "#/sessions";
  for (const [pattern, page] of ROUTES) {
    const match = hash.match(pattern);
    if (match) {
      document.body.dataset.ready = ""; // set to the route once its page has drawn (tests wait for it)
      try {
        current = await page(match);
        if (location.hash === hash || (!location.hash && hash === "#/sessions")) document.body.dataset.ready = hash;
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 401)) showError(error);
      }
      return;
    }
  }
  location.hash = "#/sessions";
}

function askToken(message) {
  if (current && current.close) current.close();
  current = null;
  if (document.querySelector("[data-testid=token-form]")) return;
  clearError();
  const input = h("input", { type: "password", name: "token", autocomplete: "off", dataset: { testid: "token-input" }, required: true });
  const form = h("form", { class: "login", dataset: { testid: "token-form" } },
    h("h1", { text: "Sign in" }),
    h("p", { class: "muted", text: `${message}. Paste a bearer token of this server; it is kept in this tab's sessionStorage only.` }),
    input, h("button", { type: "submit", dataset: { testid: "token-submit" } }, "Use token"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    token.set(input.value.trim());
    whoami();
    route();
  });
  fill(main(), form);
  input.focus();
}

async function whoami() {
  const logout = document.getElementById("logout");
  logout.hidden = !token.get();
  logout.onclick = () => { token.clear(); location.reload(); };
}

window.addEventListener("hashchange", route);
window.addEventListener("console-unauthenticated", (event) => askToken(event.detail.message));
window.addEventListener("unhandledrejection", (event) => { if (!(event.reason instanceof ApiError && event.reason.status === 401)) showError(event.reason); });
whoami();
route();
export { call };
