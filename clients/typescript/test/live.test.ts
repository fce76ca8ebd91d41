// Live tests against the real server (started here on 127.0.0.1:0 over a temporary directory).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { blake3Hex, connect, IntegrityError, SessionsError, type SessionsClient } from "../src/index.js";
import { SKIP_LIVE, startServer, type LiveServer } from "./live.js";

const MiB = 1024 * 1024;
let server: LiveServer;
let client: SessionsClient;
let work: string;

before(async () => {
  if (SKIP_LIVE) return;
  server = await startServer();
  client = connect({ target: server.target, timeoutMs: 30_000 });
  work = await mkdtemp(join(tmpdir(), "llmspell-ts-files-"));
});
after(async () => {
  if (SKIP_LIVE) return;
  client.close();
  await server.stop();
  await rm(work, { recursive: true, force: true });
});

const live = { skip: SKIP_LIVE && "LLMSPELL_SESSIONS_SKIP_LIVE=1" };

test("live: a file download is verified and renamed into place; a wrong digest leaves the target untouched", live, async () => {
  const session = await client.sessions.createSession({ name: "downloads" });
  const content = randomBytes(3 * MiB + 123);
  const artifact = await client.artifacts.uploadArtifact({ sessionId: session.sessionId, name: "blob" }, content);
  assert.equal(artifact.contentDigest, await blake3Hex(content));

  const dir = await mkdtemp(join(work, "dl-"));
  const target = join(dir, "blob.bin");
  const downloaded = await client.artifacts.downloadFile(artifact.artifactId, target);
  assert.equal(downloaded.contentDigest, artifact.contentDigest);
  assert.ok(content.equals(await readFile(target)));

  await writeFile(target, "kept");
  await assert.rejects(client.artifacts.downloadFile(artifact.artifactId, target, { expectedDigest: await blake3Hex(Buffer.from("other")) }),
    (e: unknown) => e instanceof IntegrityError && e.reason === "INTEGRITY_ERROR");
  assert.equal(await readFile(target, "utf8"), "kept");
  assert.deepEqual(await readdir(dir), ["blob.bin"]);

  const range = await client.artifacts.readArtifact(artifact.artifactId, { offset: MiB, limit: 1000, expectedDigest: await blake3Hex(content.subarray(MiB, MiB + 1000)) });
  assert.ok(range.content.equals(content.subarray(MiB, MiB + 1000)));
});

test("live: re-uploading a 1%-edited 32 MiB file by chunks sends at most 5% of its bytes", live, async () => {
  const session = await client.sessions.createSession({ name: "dedup" });
  const size = 32 * MiB;
  const original = randomBytes(size);
  const path = join(work, "big.bin");
  await writeFile(path, original);
  const first = await client.artifacts.uploadChunked({ sessionId: session.sessionId, name: "big" }, path);
  assert.equal(first.bytesSent, size);
  assert.equal(first.artifact.contentDigest, await blake3Hex(original));
  assert.ok(first.chunks > 100, `${first.chunks} chunks`);

  const edit = Math.floor(size / 200); // two edits of 0.5%: an overwrite and an insertion
  const edited = Buffer.concat([original.subarray(0, 24 * MiB), randomBytes(edit), original.subarray(24 * MiB)]);
  for (let i = 8 * MiB; i < 8 * MiB + edit; i++) edited[i] = edited[i]! ^ 0x5a;
  await writeFile(path, edited);
  const second = await client.artifacts.uploadChunked({ sessionId: session.sessionId, name: "big" }, path);
  assert.ok(second.bytesSent <= 0.05 * size, `sent ${second.bytesSent} bytes`);
  assert.ok(second.chunksSent > 0 && second.chunksSent < second.chunks);
  assert.equal(second.artifact.version, 2);
  assert.equal(second.artifact.contentDigest, await blake3Hex(edited));
  assert.ok((await client.artifacts.readArtifact(second.artifact.artifactId)).content.equals(edited));

  const same = await client.artifacts.uploadFile({ sessionId: session.sessionId, name: "again" }, path); // 4 MiB+: by chunks
  assert.equal(same.contentDigest, second.artifact.contentDigest);
  assert.equal(same.newBytes, 0);
});

test("live: an interrupted upload resumes from QueryUploadStatus's committed size", live, async () => {
  const session = await client.sessions.createSession({ name: "resume" });
  const content = randomBytes(12 * MiB);
  const uploadId = `ts-resume-${randomBytes(8).toString("hex")}`;
  const header = { sessionId: session.sessionId, name: "resumed", uploadId };
  const controller = new AbortController();
  async function* halfThenAbort() {
    for (let i = 0; i < 6; i++) yield content.subarray(i * MiB, (i + 1) * MiB);
    await new Promise((r) => setTimeout(r, 500));
    controller.abort();
    await sleep(60_000, undefined, { ref: false }); // never resumed: the call is cancelled
  }
  await assert.rejects(client.artifacts.uploadArtifact(header, halfThenAbort(), { signal: controller.signal }),
    (e: unknown) => e instanceof SessionsError && e.codeName === "CANCELLED");
  let status = await client.artifacts.queryUploadStatus(uploadId);
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const next = await client.artifacts.queryUploadStatus(uploadId);
    if (next.committedSize === status.committedSize) break;
    status = next;
  }
  assert.equal(status.complete, false);
  assert.ok(status.committedSize > 0 && status.committedSize <= 6 * MiB, `committed ${status.committedSize}`);
  const artifact = await client.artifacts.resumeUpload(header, content);
  assert.equal(artifact.size, content.length);
  assert.equal(artifact.contentDigest, await blake3Hex(content));
  const again = await client.artifacts.resumeUpload(header, content); // already complete: the same artifact
  assert.equal(again.artifactId, artifact.artifactId);
});
