import assert from "node:assert/strict";
import { Readable } from "node:stream";
import { test } from "node:test";
import { rechunk } from "../src/index.js";

async function sizes(source: Parameters<typeof rechunk>[0], size: number): Promise<number[]> {
  const out: number[] = [];
  for await (const chunk of rechunk(source, size)) out.push(chunk.length);
  return out;
}

test("rechunk splits one large buffer into fixed-size pieces", async () => {
  assert.deepEqual(await sizes(new Uint8Array(25), 10), [10, 10, 5]);
});

test("rechunk joins small chunks and keeps the bytes in order", async () => {
  const parts = Array.from({ length: 7 }, (_, i) => Uint8Array.of(i, i));
  const joined: number[] = [];
  for await (const chunk of rechunk(parts, 4)) joined.push(...chunk);
  assert.deepEqual(joined, [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
  assert.deepEqual(await sizes(parts, 4), [4, 4, 4, 2]);
});

test("rechunk reads a Readable and yields nothing for empty input", async () => {
  assert.deepEqual(await sizes(Readable.from([Buffer.alloc(3), Buffer.alloc(9)]), 5), [5, 5, 2]);
  assert.deepEqual(await sizes([], 5), []);
});
