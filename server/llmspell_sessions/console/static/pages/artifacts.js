// #/sessions/<id>/artifacts: every version per name with metadata, sizes and dedup; previews of
// text, JSON, Markdown and images (rendered as text nodes, never as HTML); downloads with digest.
import { call, download } from "../api.js";
import { bytes, fill, h, jsonTree, showError, when } from "../dom.js";
import { markdown } from "./markdown.js";
import { sessionOrNotFound } from "./session.js";

const PAGE = 100;
const PREVIEW_BYTES = 256 * 1024;
const IMAGE_BYTES = 8 * 1024 * 1024;

export async function artifactsPage(main, sessionId) {
  const session = await sessionOrNotFound(main, sessionId);
  if (session === null) return null;
  const rows = h("tbody", { dataset: { testid: "artifact-rows" } });
  const preview = h("section", { class: "panel preview", dataset: { testid: "preview" } }, h("p", { class: "muted", text: "Pick an artifact to preview." }));
  const more = h("button", { type: "button", hidden: true, dataset: { testid: "artifacts-more" } }, "Load more");
  const stats = h("p", { class: "muted", dataset: { testid: "session-stats" } });
  let token = "";
  let lastName = null;
  const urls = [];

  async function load(reset) {
    const page = await call("ArtifactService", "ListArtifacts", { session_id: sessionId, all_versions: true, order_by: "name", page_size: PAGE, page_token: reset ? "" : token });
    for (const a of page.artifacts) { rows.append(row(a, a.name !== lastName)); lastName = a.name; }
    if (!page.artifacts.length && reset) rows.append(h("tr", {}, h("td", { colspan: 9, class: "muted", text: "No artifacts." })));
    token = page.next_page_token;
    more.hidden = !token;
  }
  more.onclick = () => load(false).catch(showError);

  function row(a, first) {
    const dedup = Number(a.size) ? `${(100 * (1 - Number(a.new_bytes) / Number(a.size))).toFixed(0)}% already stored` : "";
    return h("tr", { class: first ? "group-start" : "", dataset: { testid: "artifact-row", name: a.name, version: a.version } },
      h("td", { class: "mono", text: first ? a.name : "" }), h("td", { class: "num", text: `v${a.version}` }),
      h("td", { text: a.mime_type || "—" }), h("td", { class: "num", text: bytes(a.size) }),
      h("td", { class: "num", text: `${bytes(a.stored_size)}${a.compressed ? " (lz4)" : ""}` }),
      h("td", { class: "num", text: `${bytes(a.new_bytes)} new · ${dedup}` }),
      h("td", { class: "mono small", title: a.content_digest, text: a.content_digest.slice(0, 16) + "…" }),
      h("td", { text: when(a.create_time) }),
      h("td", {}, h("button", { type: "button", dataset: { testid: "artifact-preview" }, onclick: () => show(a) }, "Preview"),
        h("button", { type: "button", dataset: { testid: "artifact-download" }, onclick: () => save(a) }, "Download")));
  }

  async function show(a) {
    try {
      const image = (a.mime_type || "").startsWith("image/");
      const { blob } = await download({ artifact_id: a.artifact_id, limit: image ? IMAGE_BYTES : PREVIEW_BYTES });
      const cut = Number(a.size) > blob.size ? h("p", { class: "muted", text: `first ${bytes(blob.size)} of ${bytes(a.size)}` }) : "";
      fill(preview, h("h2", { text: `${a.name} v${a.version}` }),
        h("p", { class: "mono small", dataset: { testid: "preview-digest" }, text: `BLAKE3 ${a.content_digest}` }),
        h("details", {}, h("summary", { text: "metadata" }), jsonTree(a.metadata || {})), cut,
        await body(a, blob, image));
    } catch (error) { showError(error); }
  }

  async function body(a, blob, image) {
    if (image) {
      const url = URL.createObjectURL(blob.slice(0, blob.size, a.mime_type));
      urls.push(url);
      return h("img", { src: url, alt: a.name, class: "preview-image", dataset: { testid: "preview-image" } });
    }
    const text = await blob.text();
    const mime = a.mime_type || "";
    if (mime.includes("json") || a.name.endsWith(".json")) {
      try { return h("div", { dataset: { testid: "preview-json" } }, jsonTree(JSON.parse(text))); } catch { /* shown as text */ }
    }
    if (mime === "text/markdown" || a.name.endsWith(".md")) return h("div", { class: "markdown", dataset: { testid: "preview-markdown" } }, markdown(text));
    return h("pre", { class: "text", dataset: { testid: "preview-text" }, text });
  }

  async function save(a) {
    try {
      const { blob, digest } = await download({ artifact_id: a.artifact_id });
      const url = URL.createObjectURL(blob);
      const link = h("a", { href: url, download: a.name.split("/").pop() || a.artifact_id, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
      fill(preview, h("p", { dataset: { testid: "download-done" }, text: `Downloaded ${a.name} v${a.version}: ${bytes(blob.size)}, BLAKE3 ${digest} (every chunk checked against its digest by the server).` }));
    } catch (error) { showError(error); }
  }

  const stat = await call("ArtifactService", "GetStorageStats", { session_id: sessionId });
  stats.textContent = `${stat.artifact_count} artifacts · ${bytes(stat.logical_bytes)} logical · ${bytes(stat.stored_bytes)} stored · dedup ×${Number(stat.dedup_ratio).toFixed(2)} · compression ×${Number(stat.compression_ratio).toFixed(2)}`;
  fill(main, h("div", { class: "session-head" }, h("h1", { text: `Artifacts of ${session.name || session.session_id}` }),
    h("a", { href: `#/sessions/${encodeURIComponent(sessionId)}`, text: "← session" })), stats,
  h("div", { class: "columns" }, h("div", {}, h("table", { class: "list" },
    h("thead", {}, h("tr", {}, ["Name", "Version", "Type", "Size", "Stored", "Dedup", "Digest", "Created", ""].map((t) => h("th", { text: t })))), rows), more), preview));
  await load(true);
  return { close: () => urls.forEach((u) => URL.revokeObjectURL(u)) };
}
