// The console's calls: every one is a POST of JSON with the bearer token in a header (never in a
// URL), and the custom header the server requires of API calls (CSRF).
const TOKEN_KEY = "llmspell-console-token";

export class ApiError extends Error {
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.code = body.code || "UNKNOWN";
    this.reason = body.reason || "";
  }
}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY) || "",
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

function headers() {
  const h = { "Content-Type": "application/json", "X-Llmspell-Console": "1" };
  const t = token.get();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

async function post(path, body, signal) {
  const response = await fetch(path, {
    method: "POST", headers: headers(), body: JSON.stringify(body || {}), signal,
    credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
  });
  if (!response.ok) {
    let detail = {};
    try { detail = await response.json(); } catch { /* not JSON */ }
    const error = new ApiError(response.status, detail);
    if (response.status === 401) window.dispatchEvent(new CustomEvent("console-unauthenticated", { detail: error }));
    throw error;
  }
  return response;
}

let requestCount = 0; // read by the tests (window.__consoleRequests): pages make a bounded number of calls

/** Starts counting a new page's calls. */
export function resetRequestCount() {
  requestCount = 0;
  window.__consoleRequests = 0;
}

/** One unary RPC: call("SessionService", "ListSessions", {...}) -> the response message as JSON. */
export async function call(service, method, body) {
  requestCount += 1;
  window.__consoleRequests = requestCount;
  return (await post(`/api/${service}/${method}`, body)).json();
}

/** An NDJSON stream: onItem(object) per line until the stream ends or signal aborts. */
export async function stream(path, body, onItem, signal) {
  requestCount += 1;
  window.__consoleRequests = requestCount;
  const response = await post(path, body, signal);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    let chunk;
    try { chunk = await reader.read(); } catch (error) { if (signal && signal.aborted) return; throw error; }
    if (chunk.done) break;
    buffered += decoder.decode(chunk.value, { stream: true });
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (!line) continue;
      const item = JSON.parse(line);
      if (item.error) throw new ApiError(0, item.error);
      onItem(item);
    }
  }
}

/** An artifact's bytes (limit 0 = all) as a Blob, with the digest the server verified them against. */
export async function download(body) {
  requestCount += 1;
  window.__consoleRequests = requestCount;
  const response = await post("/api/download", body);
  return { blob: await response.blob(), digest: response.headers.get("X-Llmspell-Digest") || "" };
}
