// The chunker against the golden vectors shared by every language (tests/vectors/*.json).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { blake3 } from "@noble/hashes/blake3.js";
import { blake3Hex, planChunks } from "../src/index.js";
import { chunkCuts, chunkParams, gearTable, StreamChunker } from "../src/chunker.js";
import { repoRoot } from "./live.js";

const vectors = (name: string) => JSON.parse(readFileSync(join(repoRoot(), "tests/vectors", name), "utf8"));
const hex = (hi: number, lo: number) => hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");

interface Vector {
  name: string; input: string; seed: string; length: number; min_size: number; avg_size: number; max_size: number;
  mask_s: string; mask_l: string; content_blake3: string; cuts: number[]; chunk_blake3: string[];
}

function input(v: Vector): Uint8Array {
  if (v.input === "zeros") return new Uint8Array(v.length);
  if (v.input === "blake3-xof") return blake3(new TextEncoder().encode(v.seed), { dkLen: v.length });
  throw new Error(`unknown input ${v.input}`);
}

test("the gear table matches tests/vectors/gear_table.json and its BLAKE3 rule", () => {
  const golden = vectors("gear_table.json");
  const { lo, hi } = gearTable();
  assert.equal(golden.id, "llmspell-gear-v1");
  assert.deepEqual(Array.from(lo, (l, i) => hex(hi[i]!, l)), golden.table);
  const prefix = new TextEncoder().encode("llmspell-sessions/gear/v1");
  const derived = Array.from({ length: 256 }, (_, i) => {
    const view = new DataView(blake3(Uint8Array.from([...prefix, i])).buffer);
    return hex(view.getUint32(4, true), view.getUint32(0, true));
  });
  assert.deepEqual(derived, golden.table);
});

test("chunk cuts, masks and digests match every golden vector", async () => {
  const all: Vector[] = vectors("chunking.json").vectors;
  assert.ok(all.length > 5);
  for (const v of all) {
    const data = input(v);
    const params = chunkParams(v.min_size, v.avg_size, v.max_size);
    assert.equal(hex(...params.maskS), v.mask_s, `${v.name} mask_s`);
    assert.equal(hex(...params.maskL), v.mask_l, `${v.name} mask_l`);
    assert.equal(await blake3Hex(data), v.content_blake3, `${v.name} content`);
    const cuts = chunkCuts(data, params);
    assert.deepEqual(cuts, v.cuts, v.name);
    const digests = await Promise.all(cuts.map((end, i) => blake3Hex(data.subarray(cuts[i - 1] ?? 0, end))));
    assert.deepEqual(digests, v.chunk_blake3, v.name);
    const plan = await planChunks(data, params);
    assert.deepEqual(plan.chunks.map((c) => c.digest), v.chunk_blake3, `${v.name} plan`);
    assert.equal(plan.contentDigest, v.content_blake3);
  }
});

test("a stream fed in uneven pieces gives the same chunks as the whole", () => {
  const v = (vectors("chunking.json").vectors as Vector[]).reduce((a, b) => (b.length > a.length ? b : a));
  const data = input(v);
  const params = chunkParams(v.min_size, v.avg_size, v.max_size);
  for (const piece of [1000, 65_537, 300_000]) {
    const chunker = new StreamChunker(params);
    const sizes: number[] = [];
    for (let at = 0; at < data.length; at += piece) sizes.push(...chunker.push(data.slice(at, at + piece)).map((c) => c.length));
    sizes.push(...chunker.finish().map((c) => c.length));
    let end = 0;
    assert.deepEqual(sizes.map((s) => (end += s)), v.cuts, `pieces of ${piece}`);
  }
});

test("chunk sizes are validated", () => {
  assert.throws(() => chunkParams(32, 64, 128), RangeError);
  assert.throws(() => chunkParams(1024, 512, 4096), RangeError);
  assert.throws(() => chunkParams(1024, 4096, 32 * 1024 * 1024), RangeError);
});
