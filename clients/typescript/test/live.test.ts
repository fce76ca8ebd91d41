// Live tests against the real server (started here on 127.0.0.1:0 over a temporary directory).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { blake3Hex, connect, IntegrityError, type SessionsClient } from "../src/index.js";
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
  const session = await client.createSession({ name: "downloads" });
  const content = randomBytes(3 * MiB + 123);
  const artifact = await client.uploadArtifact({ sessionId: session.sessionId, name: "blob" }, content);
  assert.equal(artifact.contentDigest, blake3Hex(content));

  const dir = await mkdtemp(join(work, "dl-"));
  const target = join(dir, "blob.bin");
  const downloaded = await client.downloadFile(artifact.artifactId, target);
  assert.equal(downloaded.contentDigest, artifact.contentDigest);
  assert.ok(content.equals(await readFile(target)));

  await writeFile(target, "kept");
  await assert.rejects(client.downloadFile(artifact.artifactId, target, { expectedDigest: blake3Hex(Buffer.from("other")) }),
    (e: unknown) => e instanceof IntegrityError && e.reason === "INTEGRITY_ERROR");
  assert.equal(await readFile(target, "utf8"), "kept");
  assert.deepEqual(await readdir(dir), ["blob.bin"]);

  const range = await client.readArtifact(artifact.artifactId, { offset: MiB, limit: 1000, expectedDigest: blake3Hex(content.subarray(MiB, MiB + 1000)) });
  assert.ok(range.content.equals(content.subarray(MiB, MiB + 1000)));
});
