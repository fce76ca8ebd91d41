// Artifacts with @llmspell/sessions: streaming upload from a file and an async iterable, versions,
// listing, ranged and whole (verified) downloads, chunked deduplicated uploads and storage statistics.
//
//   make -C clients/typescript examples TARGET=127.0.0.1:50051
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ArtifactType, connect, IntegrityError } from "@llmspell/sessions";

const client = connect({ target: process.env.LLMSPELL_SESSION_ADDRESS ?? "127.0.0.1:50051" });
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function* generated(megabytes: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < megabytes; i++) yield Buffer.alloc(1024 * 1024, i); // produced as it is sent
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "llmspell-artifacts-"));
  let id = "";
  try {
    const session = await client.sessions.createSession({ name: "artifacts-example", tags: ["example"] });
    id = session.sessionId;

    const input = join(dir, "report.txt");
    await writeFile(input, "A report line.\n".repeat(200_000)); // ~3 MB, compresses well
    const report = await client.artifacts.uploadFile(
      { sessionId: id, name: "report.txt", type: ArtifactType.ARTIFACT_TYPE_AGENT_OUTPUT, mimeType: "text/plain",
        tags: ["report"], metadata: { pages: 12 } },
      input,
    );
    console.log(`uploaded ${report.name} v${report.version}: ${report.size} bytes, stored ${report.storedSize}, ` +
      `${report.chunkCount} chunks, digest ${report.contentDigest.slice(0, 16)}…`);

    const v2 = await client.artifacts.uploadArtifact(
      { sessionId: id, name: "report.txt", type: ArtifactType.ARTIFACT_TYPE_AGENT_OUTPUT, parentArtifactId: report.artifactId },
      generated(3),
    );
    console.log(`uploaded ${v2.name} v${v2.version} (previous digest ${v2.previousDigest.slice(0, 16)}…)`);

    const output = join(dir, "report.out");
    await client.artifacts.downloadFile(report.artifactId, output);
    if (sha256(await readFile(output)) !== sha256(await readFile(input))) throw new Error("downloaded file differs");
    console.log("downloaded v1 to a file: identical");

    const { content } = await client.artifacts.readArtifact(report.artifactId, { offset: 15, limit: 14 });
    console.log(`range [15, 29): ${JSON.stringify(content.toString())}`);

    const copy = await client.artifacts.storeArtifact({ sessionId: id, name: "copy.txt" }, await readFile(input));
    console.log(`stored an identical copy: new_bytes=${copy.newBytes} (deduplicated)`);

    // Chunked (deduplicated) uploads: only the chunks the server lacks are sent.
    const dataset = join(dir, "dataset.bin");
    const original = randomBytes(8 * 1024 * 1024);
    await writeFile(dataset, original);
    const first = await client.artifacts.uploadChunked({ sessionId: id, name: "dataset.bin" }, dataset);
    original.fill(7, 4 * 1024 * 1024, 4 * 1024 * 1024 + 4096); // edit 4 KiB in the middle
    await writeFile(dataset, original);
    const second = await client.artifacts.uploadChunked({ sessionId: id, name: "dataset.bin" }, dataset);
    console.log(`dataset v1 sent ${first.bytesSent} bytes; after a 4 KiB edit v2 sent ${second.bytesSent} ` +
      `(${second.chunksSent} of ${second.chunks} chunks)`);
    if (second.bytesSent >= first.bytesSent / 4) throw new Error("the edited re-upload was not deduplicated");

    try {
      await client.artifacts.downloadFile(second.artifact.artifactId, output, { expectedDigest: first.artifact.contentDigest });
      throw new Error("a download checked against the wrong digest succeeded");
    } catch (error) {
      if (!(error instanceof IntegrityError)) throw error;
      console.log(`verified download refused the wrong digest (${error.reason}); ${output} untouched`);
    }

    for await (const a of client.artifacts.iterateArtifacts({ sessionId: id, allVersions: true, orderBy: "name" })) {
      console.log(`  ${a.name} v${a.version} ${a.size} bytes ${a.compressed ? "(lz4)" : ""}`);
    }
    const latest = await client.artifacts.getArtifact({ sessionId: id, name: "report.txt" });
    if (latest.version !== 2) throw new Error(`latest version is ${latest.version}, expected 2`);

    const stats = await client.artifacts.getStorageStats(id);
    console.log(`session storage: ${stats.logicalBytes} logical, ${stats.storedBytes} stored bytes, ` +
      `dedup ${stats.dedupRatio.toFixed(2)}, compression ${stats.compressionRatio.toFixed(2)}`);
    await client.sessions.completeSession(id);
    console.log("artifacts example ok");
  } finally {
    await rm(dir, { recursive: true, force: true });
    if (id) await client.sessions.deleteSession(id); // examples leave nothing behind
  }
}

main()
  .catch((error: unknown) => {
    console.error("artifacts example failed:", error instanceof Error ? error.message : error);
    process.exitCode = 1;
  })
  .finally(() => client.close());
