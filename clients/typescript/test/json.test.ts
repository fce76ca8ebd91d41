import assert from "node:assert/strict";
import { test } from "node:test";
import { checkJson, type JsonObject } from "../src/index.js";
import { CreateSessionRequest, GetSessionStateResponse, SetSessionStateRequest } from "../src/proto.js";

const entries: JsonObject = {
  plan: { steps: ["search", "summarise"], done: false, cost: 0.25, nested: { deep: [1, [2, { x: null }]] } },
  count: 3,
  nothing: null,
  text: "héllo ✓",
  empty: {},
  list: [],
};

test("state entries survive the Value encoding unchanged", () => {
  const bytes = SetSessionStateRequest.encode({ sessionId: "s", entries, deleteKeys: [], etag: "" }).finish();
  assert.deepEqual(SetSessionStateRequest.decode(bytes).entries, entries);
});

test("a Struct field (metadata) round-trips as a plain object", () => {
  const metadata = { lang: "ts", n: 1, flags: [true, false], none: null };
  const bytes = CreateSessionRequest.encode(CreateSessionRequest.fromPartial({ name: "x", metadata })).finish();
  assert.deepEqual(CreateSessionRequest.decode(bytes).metadata, metadata);
});

test("a GetSessionState response decodes to plain values", () => {
  const bytes = GetSessionStateResponse.encode({ entries: { a: 1.5, b: "two" } }).finish();
  assert.deepEqual(GetSessionStateResponse.decode(bytes).entries, { a: 1.5, b: "two" });
});

test("checkJson accepts JSON values and rejects what a Value cannot hold, naming the path", () => {
  assert.deepEqual(checkJson(entries), entries);
  assert.throws(() => checkJson({ a: undefined }), /value\.a: undefined/);
  assert.throws(() => checkJson({ a: [1, Number.NaN] }), /value\.a\[1\]: NaN/);
  assert.throws(() => checkJson({ when: new Date() }), /value\.when: Date/);
  assert.throws(() => checkJson(10n), /bigint/);
});
