// The wrapper against an in-process grpc-js server implementing the generated service definitions.
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getEventListeners } from "node:events";
import { PassThrough, Readable } from "node:stream";
import { after, before, test } from "node:test";
import { status, type sendUnaryData, type ServerUnaryCall, type ServerReadableStream, type ServerWritableStream } from "@grpc/grpc-js";
import { blake3Hex, IntegrityError, SessionsError, type SessionsClient } from "../src/index.js";
import {
  Artifact, ArtifactServiceService, Event, ReplayServiceService, Session, SessionServiceService,
  type AppendEventsRequest, type AppendEventsResponse, type DownloadArtifactRequest, type ForkSessionRequest, type GetSessionRequest, type ListSessionsRequest, type ListSessionsResponse,
  type SubscribeEventsRequest, type UpdateSessionRequest, type UploadArtifactRequest,
} from "../src/proto.js";
import { serverError, startServer } from "./helpers.js";

const MiB = 1024 * 1024;
const DIGEST_0_9 = await blake3Hex(Buffer.from("0123456789"));
const ALL = Array.from({ length: 7 }, (_, i) => Session.fromPartial({ sessionId: `s${i}`, name: `n${i}` }));
const seen: { listRequests: ListSessionsRequest[]; auth: string[]; updates: UpdateSessionRequest[]; uploads: string[][] } =
  { listRequests: [], auth: [], updates: [], uploads: [] };
let cancelledSubscriptions = 0;
let client: SessionsClient;
let stop: () => Promise<void>;

const sessions = {
  listSessions(call: ServerUnaryCall<ListSessionsRequest, ListSessionsResponse>, done: sendUnaryData<ListSessionsResponse>) {
    seen.listRequests.push(call.request);
    const start = Number(call.request.pageToken || 0);
    const end = start + call.request.pageSize;
    done(null, { sessions: ALL.slice(start, end), nextPageToken: end < ALL.length ? String(end) : "", totalSize: ALL.length });
  },
  getSession(call: ServerUnaryCall<GetSessionRequest, Session>, done: sendUnaryData<Session>) {
    seen.auth.push(String(call.metadata.get("authorization")[0]), String(call.metadata.get("x-correlation-id")[0]));
    if (call.request.sessionId === "never") return; // left hanging: the client must cancel it
    done(serverError(status.NOT_FOUND, "no such session", "SESSION_NOT_FOUND", { session_id: call.request.sessionId }));
  },
  updateSession(call: ServerUnaryCall<UpdateSessionRequest, Session>, done: sendUnaryData<Session>) {
    seen.updates.push(call.request);
    done(null, call.request.session!);
  },
};

const artifacts = {
  uploadArtifact(call: ServerReadableStream<UploadArtifactRequest, Artifact>, done: sendUnaryData<Artifact>) {
    const messages: string[] = [];
    seen.uploads.push(messages);
    let size = 0;
    call.on("data", (m: UploadArtifactRequest) => {
      messages.push(m.header ? `header:${m.header.name}` : String(m.data!.length));
      size += m.data?.length ?? 0;
      if (m.header?.name === "too-big") done(serverError(status.RESOURCE_EXHAUSTED, "too big", "RESOURCE_LIMIT_EXCEEDED"));
    });
    call.on("end", () => done(null, Artifact.fromPartial({ artifactId: "a1", size })));
  },
  downloadArtifact(call: ServerWritableStream<DownloadArtifactRequest, unknown>) {
    const { artifactId, offset, limit } = call.request;
    const contentDigest = DIGEST_0_9;
    call.write({ artifact: Artifact.fromPartial({ artifactId, size: 10, contentDigest }) });
    // "corrupt" flips one byte; "short" loses the last one: the client's checks must catch both.
    const stored = { corrupt: "0123456788", short: "012345678" }[artifactId] ?? "0123456789";
    const bytes = Buffer.from(stored).subarray(offset, limit ? offset + limit : undefined);
    call.write({ data: bytes.subarray(0, 3) });
    call.write({ data: bytes.subarray(3) });
    call.end();
  },
};

const forks: ForkSessionRequest[] = [];
const replay = {
  appendEvents(call: ServerUnaryCall<AppendEventsRequest, AppendEventsResponse>, done: sendUnaryData<AppendEventsResponse>) {
    const { sessionId, events, expectedLastSeq } = call.request;
    if (expectedLastSeq !== undefined && expectedLastSeq !== 1) {
      return done(serverError(status.ABORTED, "log is at 1", "SEQ_MISMATCH", { session_id: sessionId }));
    }
    done(null, { events: events.map((e, i) => Event.fromPartial({ sessionId, seq: 2 + i, type: e.type, payload: e.payload })) });
  },
  forkSession(call: ServerUnaryCall<ForkSessionRequest, Session>, done: sendUnaryData<Session>) {
    forks.push(call.request);
    done(null, Session.fromPartial({ sessionId: "f", parentSessionId: call.request.sessionId, name: call.request.name }));
  },
  subscribeEvents(call: ServerWritableStream<SubscribeEventsRequest, Event>) {
    for (let seq = call.request.afterSeq + 1; seq <= call.request.afterSeq + 3; seq++) {
      call.write(Event.fromPartial({ sessionId: call.request.sessionId, seq, type: "t" }));
    }
    call.on("cancelled", () => cancelledSubscriptions++); // and never ends by itself, like a live tail
  },
};

before(async () => {
  ({ client, stop } = await startServer(
    [[SessionServiceService, sessions], [ArtifactServiceService, artifacts], [ReplayServiceService, replay]], "tkn"));
});
after(() => stop());

test("iterateSessions walks every page, passing the filters on", async () => {
  seen.listRequests.length = 0;
  const ids: string[] = [];
  for await (const session of client.sessions.iterateSessions({ pageSize: 3, search: "n" })) ids.push(session.sessionId);
  assert.deepEqual(ids, ALL.map((s) => s.sessionId));
  assert.deepEqual(seen.listRequests.map((r) => [r.pageToken, r.pageSize, r.search]), [["", 3, "n"], ["3", 3, "n"], ["6", 3, "n"]]);
});

test("server errors reject with SessionsError carrying the ErrorInfo; calls send the token", async () => {
  const error = await client.sessions.getSession("missing", { correlationId: "corr-1" }).catch((e: unknown) => e);
  assert.ok(error instanceof SessionsError);
  assert.equal(error.code, status.NOT_FOUND);
  assert.equal(error.reason, "SESSION_NOT_FOUND");
  assert.deepEqual(error.metadata, { session_id: "missing" });
  assert.deepEqual(seen.auth.slice(-2), ["Bearer tkn", "corr-1"]);
});

test("an aborted call rejects with CANCELLED", async () => {
  const controller = new AbortController();
  const pending = client.sessions.getSession("never", { signal: controller.signal });
  setTimeout(() => controller.abort(), 20);
  await assert.rejects(pending, (e: unknown) => e instanceof SessionsError && e.code === status.CANCELLED);
});

test("updateSession masks exactly the fields given and sends the etag", async () => {
  await client.sessions.updateSession("s1", { name: "renamed", metadata: { k: 1 } }, { etag: "e7" });
  const request = seen.updates.at(-1)!;
  assert.deepEqual(request.updateMask, ["name", "metadata"]);
  assert.equal(request.session!.etag, "e7");
  assert.deepEqual(request.session!.metadata, { k: 1 });
});

test("uploadArtifact sends the header first, then 1 MiB data messages", async () => {
  const source = Readable.from([Buffer.alloc(700_000), Buffer.alloc(MiB), Buffer.alloc(MiB + MiB / 2 - 700_000)]);
  const artifact = await client.artifacts.uploadArtifact({ sessionId: "s", name: "blob" }, source);
  assert.equal(artifact.size, 2 * MiB + MiB / 2);
  assert.deepEqual(seen.uploads.at(-1), ["header:blob", String(MiB), String(MiB), String(MiB / 2)]);
});

test("an upload the server rejects early reports the server's error", async () => {
  async function* endless() {
    for (;;) yield Buffer.alloc(MiB);
  }
  await assert.rejects(client.artifacts.uploadArtifact({ sessionId: "s", name: "too-big" }, endless()),
    (e: unknown) => e instanceof SessionsError && e.reason === "RESOURCE_LIMIT_EXCEEDED");
});

test("downloadArtifact streams a range into a Writable and returns the metadata", async () => {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on("data", (c: Buffer) => chunks.push(c));
  const artifact = await client.artifacts.downloadArtifact("a9", sink, { offset: 2, limit: 5 });
  assert.equal(artifact.artifactId, "a9");
  assert.equal(Buffer.concat(chunks).toString(), "23456");
  const whole = await client.artifacts.readArtifact("a9");
  assert.equal(whole.content.toString(), "0123456789");
});

test("subscribeEvents yields events in order; an aborted signal throws CANCELLED and leaves no listener", async () => {
  const controller = new AbortController();
  const seqs: number[] = [];
  const iterate = async () => {
    for await (const event of client.replay.subscribeEvents("s", { afterSeq: 4, signal: controller.signal })) {
      seqs.push(event.seq);
      if (seqs.length === 3) controller.abort();
    }
  };
  await assert.rejects(iterate(), (e: unknown) => e instanceof SessionsError && e.codeName === "CANCELLED");
  assert.deepEqual(seqs, [5, 6, 7]);
  assert.equal(getEventListeners(controller.signal, "abort").length, 0);
  for (let i = 0; i < 50 && cancelledSubscriptions === 0; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(cancelledSubscriptions, 1);
});

test("leaving a subscription loop early ends it without an error", async () => {
  const before = cancelledSubscriptions;
  for await (const event of client.replay.subscribeEvents("s", { afterSeq: 0 })) if (event.seq === 2) break;
  for (let i = 0; i < 50 && cancelledSubscriptions === before; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(cancelledSubscriptions, before + 1);
});

test("a signal shared by many calls keeps no listener once they end; an already aborted one cancels at once", async () => {
  const controller = new AbortController();
  await client.artifacts.readArtifact("a9", { signal: controller.signal });
  await client.sessions.getSession("missing", { signal: controller.signal }).catch(() => undefined);
  await client.artifacts.uploadArtifact({ sessionId: "s", name: "n" }, Buffer.alloc(10), { signal: controller.signal });
  assert.equal(getEventListeners(controller.signal, "abort").length, 0);
  const aborted = AbortSignal.abort();
  const calls = [client.sessions.getSession("x", { signal: aborted }), client.artifacts.readArtifact("a9", { signal: aborted }),
    client.artifacts.uploadArtifact({ sessionId: "s", name: "n" }, Buffer.alloc(10), { signal: aborted })];
  await Promise.all(calls.map((call) => assert.rejects(call, (e: unknown) => e instanceof SessionsError && e.codeName === "CANCELLED")));
});

test("a per-call deadline fails with DEADLINE_EXCEEDED", async () => {
  await assert.rejects(client.sessions.getSession("never", { timeoutMs: 50 }),
    (e: unknown) => e instanceof SessionsError && e.codeName === "DEADLINE_EXCEEDED");
});

test("appendEvents sends payloads and expectedLastSeq only when given", async () => {
  const events = await client.replay.appendEvents("s", [{ type: "a.b", payload: { i: 1 } }, { type: "a.c" }]);
  assert.deepEqual(events.map((e) => [e.seq, e.type, e.payload]), [[2, "a.b", { i: 1 }], [3, "a.c", undefined]]);
  await assert.rejects(client.replay.appendEvents("s", [{ type: "a.b" }], { expectedLastSeq: 5 }),
    (e: unknown) => e instanceof SessionsError && e.reason === "SEQ_MISMATCH");
});

test("forkSession sends a checkpoint or a seq as the point", async () => {
  await client.replay.forkSession("s", { checkpointId: "cp1" }, "fork-a");
  await client.replay.forkSession("s", { seq: 4 });
  assert.deepEqual(forks.map((f) => [f.checkpointId, f.atSeq, f.name]), [["cp1", undefined, "fork-a"], [undefined, 4, ""]]);
});

test("a whole download is checked against the artifact's size and BLAKE3 digest", async () => {
  assert.equal((await client.artifacts.readArtifact("a9")).content.toString(), "0123456789");
  await assert.rejects(client.artifacts.readArtifact("corrupt"),
    (e: unknown) => e instanceof IntegrityError && e.codeName === "DATA_LOSS" && e.reason === "INTEGRITY_ERROR" &&
      e.metadata.expected_digest === DIGEST_0_9);
  await assert.rejects(client.artifacts.readArtifact("short"), (e: unknown) => e instanceof IntegrityError && e.metadata.actual_size === "9");
  // A range cannot be checked against the whole artifact's digest, only by its size or an expected digest.
  assert.equal((await client.artifacts.readArtifact("corrupt", { offset: 5 })).content.toString(), "56788");
  await assert.rejects(client.artifacts.readArtifact("corrupt", { offset: 5, expectedDigest: await blake3Hex(Buffer.from("56789")) }), IntegrityError);
});

test("downloadFile renames into place only after the check; a mismatch leaves the target untouched", async () => {
  const dir = await mkdtemp(join(tmpdir(), "llmspell-ts-dl-"));
  try {
    const target = join(dir, "out.bin");
    await writeFile(target, "previous");
    await assert.rejects(client.artifacts.downloadFile("corrupt", target), IntegrityError);
    assert.equal(await readFile(target, "utf8"), "previous");
    assert.deepEqual(await readdir(dir), ["out.bin"]);
    await client.artifacts.downloadFile("a9", target);
    assert.equal(await readFile(target, "utf8"), "0123456789");
    assert.deepEqual(await readdir(dir), ["out.bin"]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
