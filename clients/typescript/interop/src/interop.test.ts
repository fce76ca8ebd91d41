import assert from "node:assert/strict";
import { test } from "node:test";
import { isLoopback } from "@llmspell/sessions";
import { jsonEqual, snakeResult } from "./compare.js";
import { blake3Hex } from "@llmspell/sessions";
import { xorshift32 } from "./content.js";

test("xorshift32 emits little-endian words and truncates the last one", () => {
  // seed 1: 1 ^ 1<<13 = 8193; >>17 changes nothing; 8193 ^ 8193<<5 = 270369 = 0x00042021.
  assert.deepEqual([...xorshift32(1, 6)], [0x21, 0x20, 0x04, 0x00, ...xorshift32(270369, 2)]);
  assert.equal(xorshift32(7, 1048576).length, 1048576);
});

test("blake3Hex matches the reference digest of empty input", () => {
  assert.equal(blake3Hex(new Uint8Array()), "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
});

test("results compare numerically, by key set, and treat absent fields as proto3 defaults", () => {
  assert.ok(jsonEqual(5, "5"));
  assert.ok(jsonEqual(0, undefined));
  assert.ok(jsonEqual({ count: 4 }, { count: 4 }));
  assert.ok(!jsonEqual({ count: 4 }, { count: 4, nothing: null }));
  assert.ok(jsonEqual([], undefined));
  assert.deepEqual(snakeResult({ sessionId: "a", lastEventSeq: 2 }), { session_id: "a", last_event_seq: 2 });
});

test("loopback targets are recognised", () => {
  for (const t of ["127.0.0.1:1", "localhost:50051", "[::1]:9", "dns:///localhost:1"]) assert.ok(isLoopback(t), t);
  for (const t of ["10.0.0.1:1", "example.com:443", "[2001:db8::1]:1"]) assert.ok(!isLoopback(t), t);
});
