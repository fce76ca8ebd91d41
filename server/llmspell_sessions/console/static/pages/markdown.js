// A small Markdown subset (headings, lists, code blocks, quotes, paragraphs, inline code, bold,
// italics) turned into elements whose text is set as text: nothing of the source is parsed as HTML.
import { h } from "../dom.js";

export function markdown(source) {
  const blocks = [];
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  for (let i = 0; i < lines.length;) {
    const line = lines[i];
    if (line.startsWith("```")) {
      const code = [];
      for (i += 1; i < lines.length && !lines[i].startsWith("```"); i += 1) code.push(lines[i]);
      blocks.push(h("pre", {}, h("code", { text: code.join("\n") })));
      i += 1;
    } else if (/^#{1,6}\s/.test(line)) {
      const level = line.match(/^#+/)[0].length;
      blocks.push(h(`h${Math.min(level + 2, 6)}`, {}, inline(line.slice(level).trim())));
      i += 1;
    } else if (/^\s*([-*+]|\d+\.)\s/.test(line)) {
      const ordered = /^\s*\d+\./.test(line);
      const items = [];
      for (; i < lines.length && /^\s*([-*+]|\d+\.)\s/.test(lines[i]); i += 1) items.push(h("li", {}, inline(lines[i].replace(/^\s*([-*+]|\d+\.)\s/, ""))));
      blocks.push(h(ordered ? "ol" : "ul", {}, items));
    } else if (line.startsWith(">")) {
      const quote = [];
      for (; i < lines.length && lines[i].startsWith(">"); i += 1) quote.push(lines[i].replace(/^>\s?/, ""));
      blocks.push(h("blockquote", {}, inline(quote.join(" "))));
    } else if (line.trim()) {
      const para = [];
      for (; i < lines.length && lines[i].trim() && !/^(#{1,6}\s|```|>|\s*([-*+]|\d+\.)\s)/.test(lines[i]); i += 1) para.push(lines[i].trim());
      blocks.push(h("p", {}, inline(para.join(" "))));
    } else {
      i += 1;
    }
  }
  return blocks;
}

function inline(text) {
  const parts = [];
  const pattern = /(`[^`]+`|\*\*[^*]+\*\*|\*[^*]+\*|_[^_]+_)/g;
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    if (match.index > last) parts.push(text.slice(last, match.index));
    const token = match[0];
    if (token.startsWith("`")) parts.push(h("code", { text: token.slice(1, -1) }));
    else if (token.startsWith("**")) parts.push(h("strong", { text: token.slice(2, -2) }));
    else parts.push(h("em", { text: token.slice(1, -1) }));
    last = match.index + token.length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}
