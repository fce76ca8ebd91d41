import assert from "node:assert/strict";
import { test } from "node:test";
import { Metadata, status } from "@grpc/grpc-js";
import { decodeStatusDetails, SessionsError, statusDetailsFromMetadata } from "../src/index.js";
import { encodeStatus, serverError } from "./helpers.js";

test("decodes ErrorInfo reason, domain and metadata from a serialized Status", () => {
  const bytes = encodeStatus(5, "session x not found", "SESSION_NOT_FOUND", { session_id: "x", tenant: "t" });
  const details = decodeStatusDetails(bytes);
  assert.equal(details.code, 5);
  assert.equal(details.message, "session x not found");
  assert.equal(details.reason, "SESSION_NOT_FOUND");
  assert.equal(details.domain, "llmspell.sessions");
  assert.deepEqual(details.metadata, { session_id: "x", tenant: "t" });
  assert.equal(details.retryDelayMs, undefined);
});

test("decodes RetryInfo into retryDelayMs", () => {
  const details = decodeStatusDetails(encodeStatus(8, "slow down", "RATE_LIMITED", {}, 2));
  assert.equal(details.retryDelayMs, 2500);
});

test("SessionsError.from reads the grpc-status-details-bin trailer of a ServiceError", () => {
  const { metadata } = serverError(status.ABORTED, "etag s1 is stale", "ETAG_MISMATCH", { session_id: "s" });
  const raw = Object.assign(new Error("10 ABORTED: etag s1 is stale"), { code: status.ABORTED, details: "etag s1 is stale", metadata });
  const error = SessionsError.from(raw);
  assert.ok(error instanceof SessionsError);
  assert.equal(error.code, status.ABORTED);
  assert.equal(error.codeName, "ABORTED");
  assert.equal(error.reason, "ETAG_MISMATCH");
  assert.deepEqual(error.metadata, { session_id: "s" });
  assert.equal(error.message, "ABORTED/ETAG_MISMATCH: etag s1 is stale");
  assert.equal(error.cause, raw);
});

test("a status without details keeps its code and an empty reason", () => {
  const raw = Object.assign(new Error("14 UNAVAILABLE: no connection"), { code: 14, details: "no connection", metadata: new Metadata() });
  const error = SessionsError.from(raw);
  assert.equal(error.codeName, "UNAVAILABLE");
  assert.equal(error.reason, "");
  assert.equal(error.details, "no connection");
});

test("a malformed trailer is ignored rather than thrown", () => {
  const metadata = new Metadata();
  metadata.set("grpc-status-details-bin", Buffer.from([0x1a, 0xff, 0xff]));
  assert.equal(statusDetailsFromMetadata(metadata), undefined);
});

test("non-gRPC errors become UNKNOWN", () => {
  const error = SessionsError.from(new TypeError("boom"));
  assert.equal(error.code, status.UNKNOWN);
  assert.equal(error.details, "boom");
});
