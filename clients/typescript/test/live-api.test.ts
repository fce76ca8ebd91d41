// Live tests of the whole API against the real server: ApplyChanges/ReadSession, snapshots, controlled
// replay, grants, RetryInfo on a rate limit, correlation ids, deadlines and cancellation.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { getEventListeners } from "node:events";
import { after, before, test } from "node:test";
import {
  ArtifactType, BulkAction, connect, ReplayMode, ReplayStatus, SessionAccess, SessionsError, type SessionsClient,
} from "../src/index.js";
import { SKIP_LIVE, startServer, type LiveServer } from "./live.js";

const live = { skip: SKIP_LIVE && "LLMSPELL_SESSIONS_SKIP_LIVE=1" };
const TOKENS = { admin: "admin-token", alice: "alice-token" };
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const AUTH_CONFIG = `rate_limit_per_session = 6

[[auth.tokens]]
sha256 = "${sha256(TOKENS.admin)}"
subject = "ts-admin"
tenant = "ts"
role = "admin"

[[auth.tokens]]
sha256 = "${sha256(TOKENS.alice)}"
subject = "ts-alice"
tenant = "ts"
role = "writer"
`;

let open: LiveServer;
let auth: LiveServer;
let client: SessionsClient;
let authClient: SessionsClient;

before(async () => {
  if (SKIP_LIVE) return;
  [open, auth] = await Promise.all([startServer(), startServer({ config: AUTH_CONFIG })]);
  client = connect({ target: open.target, timeoutMs: 30_000 });
  authClient = connect({ target: auth.target, token: TOKENS.admin, timeoutMs: 30_000 });
});
after(async () => {
  if (SKIP_LIVE) return;
  client.close();
  authClient.close();
  await Promise.all([open.stop(), auth.stop()]);
});
const failsWith = (codeName: string, reason?: string) => (e: unknown) =>
  e instanceof SessionsError && e.codeName === codeName && (reason === undefined || e.reason === reason);

test("live: applyChanges writes state and events atomically; readSession reads them back in one call", live, async () => {
  const { sessionId } = await client.sessions.createSession({ name: "apply" });
  const applied = await client.sessions.applyChanges(sessionId,
    { entries: { "k/a": 1, "k/b": 2, other: "x" }, createEntries: { "k/c": 3 }, events: [{ type: "agent.step", payload: { n: 1 } }] },
    { expectedLastSeq: 1 });
  assert.deepEqual(applied.events.map((e) => e.type), ["state.changed", "agent.step"]);
  await client.sessions.applyChanges(sessionId, { createEntries: { "k/a": 99 } }); // create-only: keeps 1
  await assert.rejects(client.sessions.applyChanges(sessionId, { entries: { z: 1 } }, { expectedLastSeq: 1 }), failsWith("ABORTED", "SEQ_MISMATCH"));
  await client.artifacts.storeArtifact({ sessionId, name: "notes" }, Buffer.from("hello"));
  const read = await client.sessions.readSession(sessionId, {
    stateKeys: ["k/a", "missing"], statePrefix: "k/", pageSize: 2, lastEvents: 2, artifactNames: ["notes", "none"],
  });
  assert.deepEqual(read.state, { "k/a": 1 });
  assert.deepEqual(read.entries.map((e) => [e.key, e.value]), [["k/a", 1], ["k/b", 2]]);
  assert.notEqual(read.nextPageToken, "");
  const next = await client.sessions.readSession(sessionId, { statePrefix: "k/", pageSize: 2, pageToken: read.nextPageToken });
  assert.deepEqual(next.entries.map((e) => e.key), ["k/c"]);
  assert.deepEqual(read.artifacts.map((a) => a.name), ["notes"]);
  assert.equal(read.events.length, 2);
});

test("live: readSession reads related sessions' state beside the session's own", live, async () => {
  const shared = await client.sessions.createSession({ name: "shared-state" });
  await client.sessions.setState(shared.sessionId, { team: "blue" });
  const { sessionId } = await client.sessions.createSession({ name: "reader" });
  const read = await client.sessions.readSession(sessionId, { relatedSessionIds: [shared.sessionId] });
  assert.deepEqual(read.related.map((r) => [r.sessionId, r.state, r.truncated]), [[shared.sessionId, { team: "blue" }, false]]);
});

test("live: snapshots at a seq and a checkpoint, and their comparison", live, async () => {
  const { sessionId } = await client.sessions.createSession({ name: "snap" });
  const first = await client.sessions.setState(sessionId, { a: 1 });
  const checkpoint = await client.replay.createCheckpoint(sessionId, "cp");
  await client.sessions.setState(sessionId, { a: 2, b: true }, { deleteKeys: [] });
  await client.artifacts.storeArtifact({ sessionId, name: "late", type: ArtifactType.ARTIFACT_TYPE_TOOL_RESULT }, Buffer.from("x"));
  const atSeq = await client.replay.getSnapshot(sessionId, { seq: first.lastEventSeq });
  assert.deepEqual(atSeq.state, { a: 1 });
  const atCheckpoint = await client.replay.getSnapshot(sessionId, { checkpointId: checkpoint.checkpointId });
  assert.deepEqual(atCheckpoint.state, { a: 1 });
  const last = (await client.sessions.getSession(sessionId)).lastEventSeq;
  const diff = await client.replay.compareSnapshots(sessionId, { checkpointId: checkpoint.checkpointId }, { seq: last });
  assert.deepEqual(Object.keys(diff.stateAdded), ["b"]);
  assert.deepEqual(diff.artifactsAdded.map((a) => a.name), ["late"]);
  assert.ok(Object.keys(diff.stateChanged).includes("a"));
});

test("live: a STEP replay advances one event per step and stops on request", live, async () => {
  const { sessionId } = await client.sessions.createSession({ name: "replay" });
  await client.replay.appendEvents(sessionId, [{ type: "r.one" }, { type: "r.two" }, { type: "r.three" }]);
  const replay = client.replay.replaySession({ sessionId, mode: ReplayMode.REPLAY_MODE_STEP, types: ["r."] });
  const frames: { seq: number; status: ReplayStatus }[] = [];
  replay.step();
  for await (const frame of replay) {
    frames.push({ seq: frame.event?.seq ?? 0, status: frame.status });
    if (frames.length === 1) replay.step();
    else if (frames.length === 2) replay.stop();
  }
  assert.deepEqual(frames.map((f) => f.seq), [2, 3, 0]);
  assert.equal(frames.at(-1)!.status, ReplayStatus.REPLAY_STATUS_STOPPED);
});

test("live: aborting a replay's signal ends its iteration with CANCELLED and drops the listener", live, async () => {
  const { sessionId } = await client.sessions.createSession({ name: "replay-abort" });
  const controller = new AbortController();
  const replay = client.replay.replaySession({ sessionId, mode: ReplayMode.REPLAY_MODE_STEP }, { signal: controller.signal });
  setTimeout(() => controller.abort(), 200); // a STEP replay sends nothing until a step: only the abort ends it
  await assert.rejects(async () => {
    for await (const frame of replay) assert.fail(`unexpected frame ${frame.status}`);
  }, failsWith("CANCELLED"));
  assert.equal(getEventListeners(controller.signal, "abort").length, 0);
});

test("live: grants let another subject read; only admins grant; revoke takes it back", live, async () => {
  const { sessionId } = await authClient.sessions.createSession({ name: "shared" });
  const alice = { token: TOKENS.alice };
  await assert.rejects(authClient.sessions.getSession(sessionId, alice), failsWith("PERMISSION_DENIED"));
  const granted = await authClient.sessions.grantSessionAccess(sessionId, "ts-alice", SessionAccess.SESSION_ACCESS_READ);
  assert.equal(granted.grants["ts-alice"], SessionAccess.SESSION_ACCESS_READ);
  assert.equal((await authClient.sessions.getSession(sessionId, alice)).name, "shared");
  await assert.rejects(authClient.sessions.setState(sessionId, { x: 1 }, alice), failsWith("PERMISSION_DENIED"));
  await assert.rejects(authClient.sessions.grantSessionAccess(sessionId, "ts-alice", SessionAccess.SESSION_ACCESS_WRITE, alice),
    failsWith("PERMISSION_DENIED"));
  await authClient.sessions.revokeSessionAccess(sessionId, "ts-alice");
  await assert.rejects(authClient.sessions.getSession(sessionId, alice), failsWith("PERMISSION_DENIED"));
  await assert.rejects(authClient.sessions.getSession(sessionId, { token: "" }), failsWith("UNAUTHENTICATED"));
});

test("live: a rate-limited call carries RetryInfo as retryDelayMs beside the reason", live, async () => {
  const { sessionId } = await authClient.sessions.createSession({ name: "busy" });
  let error: unknown;
  for (let i = 0; i < 30 && !error; i++) error = await authClient.sessions.setState(sessionId, { i }).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof SessionsError, `no rate limit: ${error}`);
  assert.equal(error.codeName, "RESOURCE_EXHAUSTED");
  assert.equal(error.reason, "RATE_LIMITED");
  assert.ok(error.retryDelayMs! > 0 && error.retryDelayMs! <= 60_000, `retryDelayMs ${error.retryDelayMs}`);
});

test("live: the correlation id of a call is stamped on its events; per-call deadlines apply", live, async () => {
  const { sessionId } = await client.sessions.createSession({ name: "corr" });
  const events = await client.replay.appendEvents(sessionId, [{ type: "c.one" }, { type: "c.two" }], { correlationId: "corr-ts-42" });
  assert.deepEqual(events.map((e) => e.correlationId), ["corr-ts-42", "corr-ts-42"]);
  // A deadline already past: a 1 ms one can be met by a loopback read on an idle machine.
  await assert.rejects(client.sessions.getSession(sessionId, { timeoutMs: -1 }), failsWith("DEADLINE_EXCEEDED"));
});

test("live: capabilities, stats, artifacts by name and upload status", live, async () => {
  const caps = await client.artifacts.getCapabilities();
  assert.equal(caps.digestFunction, "blake3");
  assert.equal(caps.chunking?.algorithm, "fastcdc-2020");
  const { sessionId } = await client.sessions.createSession({ name: "misc" });
  await client.artifacts.storeArtifact({ sessionId, name: "doc" }, Buffer.from("v1"));
  const v2 = await client.artifacts.storeArtifact({ sessionId, name: "doc" }, Buffer.from("v2!"));
  assert.equal((await client.artifacts.getArtifact({ sessionId, name: "doc" })).artifactId, v2.artifactId);
  assert.equal((await client.artifacts.getArtifact({ sessionId, name: "doc", version: 1 })).size, 2);
  assert.equal((await client.artifacts.readArtifact({ sessionId, name: "doc" })).content.toString(), "v2!");
  assert.equal((await client.artifacts.readArtifact({ sessionId, name: "doc", version: 1 })).content.toString(), "v1");
  const stats = await client.artifacts.getStorageStats(sessionId);
  assert.equal(stats.artifactCount, 2);
  await assert.rejects(client.artifacts.queryUploadStatus("no-such-upload"), failsWith("NOT_FOUND", "UPLOAD_NOT_FOUND"));
});

test("live: cancelling a download reports CANCELLED; the connection keeps working", live, async () => {
  const { sessionId } = await client.sessions.createSession({ name: "cancel" });
  const artifact = await client.artifacts.uploadArtifact({ sessionId, name: "big" }, randomBytes(16 * 1024 * 1024));
  const controller = new AbortController();
  let received = 0;
  const download = client.artifacts.downloadArtifact(artifact.artifactId, (chunk) => {
    received += chunk.length;
    if (received >= 1024 * 1024) controller.abort();
  }, { signal: controller.signal });
  await assert.rejects(download, failsWith("CANCELLED"));
  assert.ok(received < artifact.size);
  assert.equal(getEventListeners(controller.signal, "abort").length, 0);
  assert.equal((await client.sessions.getSession(sessionId)).name, "cancel");
  assert.equal((await client.artifacts.readArtifact(artifact.artifactId)).content.length, artifact.size);
});

test("live: an exported archive imports into another server with the same history; backups are operators' only", live, async () => {
  const sessionId = (await client.sessions.createSession({ name: "ts-archive" })).sessionId;
  await client.sessions.setState(sessionId, { goal: "tea" });
  const content = randomBytes(50_000);
  await client.artifacts.storeArtifact({ sessionId, name: "blob.bin", type: ArtifactType.ARTIFACT_TYPE_TOOL_RESULT }, content);
  const pieces: Uint8Array[] = [];
  await client.sessions.exportSessions([sessionId], (piece) => void pieces.push(piece));
  const archive = Buffer.concat(pieces);
  const other = await startServer();
  const target = connect({ target: other.target, timeoutMs: 30_000 });
  try {
    const first = await target.sessions.importSessions(archive);
    assert.deepEqual(first.importedSessionIds, [sessionId]);
    assert.deepEqual((await target.sessions.importSessions(archive)).skippedSessionIds, [sessionId]);
    assert.deepEqual(await target.sessions.getState(sessionId), { goal: "tea" });
    const copy = await target.artifacts.readArtifact({ sessionId, name: "blob.bin" });
    assert.ok(copy.content.equals(content));
    await assert.rejects(target.sessions.importSessions(archive.subarray(0, archive.length / 2)), (error: unknown) =>
      error instanceof SessionsError && error.reason === "INVALID_ARCHIVE");
  } finally {
    target.close();
    await other.stop();
  }
  const files: string[] = [];
  await client.sessions.backupStore((part) => void (part.file && files.push(part.file.path)));
  assert.ok(files.some((path) => path.startsWith("segments/")) && files.includes("CURRENT"));
  await assert.rejects(authClient.sessions.backupStore(() => undefined), (error: unknown) =>
    error instanceof SessionsError && error.reason === "ACCESS_DENIED");
});

test("live: bulkSessionAction previews, then completes page by page, then skips with the reason", live, async () => {
  const tag = `ts-bulk-${randomBytes(4).toString("hex")}`;
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await client.sessions.createSession({ name: `bulk ${i}`, tags: [tag] })).sessionId);
  const filter = { tags: [tag] };
  const dry = await client.sessions.bulkSessionAction({ action: BulkAction.BULK_ACTION_DELETE, filter, dryRun: true });
  assert.deepEqual(dry.changedSessionIds, ids);
  assert.equal((await client.sessions.getSession(ids[0]!)).state, 1); // still ACTIVE
  const completed: string[] = [];
  let pageToken = "";
  do {
    const page = await client.sessions.bulkSessionAction({ action: BulkAction.BULK_ACTION_COMPLETE, filter, pageSize: 2, pageToken });
    assert.ok(page.changedSessionIds.length <= 2 && page.totalSize === 3);
    completed.push(...page.changedSessionIds);
    pageToken = page.nextPageToken;
  } while (pageToken);
  assert.deepEqual(completed, ids);
  const again = await client.sessions.bulkSessionAction({ action: BulkAction.BULK_ACTION_COMPLETE, filter });
  assert.deepEqual(again.skipped.map((s) => s.reason), Array(3).fill("INVALID_STATE_TRANSITION"));
  await assert.rejects(client.sessions.bulkSessionAction({ action: BulkAction.BULK_ACTION_UNSPECIFIED, filter }),
    failsWith("INVALID_ARGUMENT"));
  const deleted = await client.sessions.bulkSessionAction({ action: BulkAction.BULK_ACTION_DELETE, filter });
  assert.deepEqual(deleted.changedSessionIds, ids);
});
