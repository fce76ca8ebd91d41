/**
 * Verified downloads: the size and BLAKE3 digest of the bytes received, checked against the artifact
 * (or the digest the caller expects), and files that appear only once their bytes passed the check.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { finished } from "node:stream/promises";
import type { Artifact } from "./gen/llmspell/sessions/v1/common.js";
import type { DigestCounter } from "./digest.js";
import { IntegrityError } from "./errors.js";

/** What a download asked for and what it must match. */
export interface DownloadCheck {
  offset: number;
  /** 0 = to the end. */
  limit: number;
  /** Replaces the artifact's own `contentDigest` (for a range, the digest of the range). */
  expectedDigest?: string;
}

/**
 * Throws an {@link IntegrityError} unless the received bytes have the size the request implies and, for
 * a whole artifact (or with `expectedDigest`), its BLAKE3 digest.
 */
export function checkDownload(artifact: Artifact, received: DigestCounter, check: DownloadCheck): void {
  const rest = Math.max(0, artifact.size - check.offset);
  const size = check.limit > 0 ? Math.min(check.limit, rest) : rest;
  const id = artifact.artifactId;
  if (received.size !== size) {
    throw new IntegrityError(`artifact ${id}: received ${received.size} bytes, expected ${size}`,
      { artifact_id: id, expected_size: String(size), actual_size: String(received.size) });
  }
  const whole = size === artifact.size;
  const expected = check.expectedDigest || (whole ? artifact.contentDigest : "");
  if (!expected) return; // a range of an artifact: only its size can be checked
  const actual = received.digest();
  if (actual !== expected.toLowerCase()) {
    throw new IntegrityError(`artifact ${id}: BLAKE3 of the received bytes is ${actual}, expected ${expected}`,
      { artifact_id: id, expected_digest: expected, actual_digest: actual });
  }
}

/**
 * Runs `write` into a new temporary file next to `path` and renames it to `path` only when `write`
 * succeeds (its checks included); otherwise removes it and leaves `path` as it was.
 */
export async function writeThenRename<T>(path: string, write: (file: WriteStream) => Promise<T>): Promise<T> {
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString("hex")}.part`);
  const file = createWriteStream(temporary, { flags: "wx" });
  file.on("error", () => undefined); // reported by finished() below, or by the writer's drain wait
  try {
    const result = await write(file);
    file.end();
    await finished(file);
    await rename(temporary, path);
    return result;
  } catch (error) {
    file.destroy();
    await finished(file).catch(() => undefined); // let a write in flight settle before removing the file
    await rm(temporary, { force: true });
    throw error;
  }
}
