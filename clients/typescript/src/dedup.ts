/**
 * Client-side deduplication: cut content into the server's chunks, hash each with BLAKE3, and send
 * only the chunks the store lacks (FindMissingChunks → UploadChunks → CommitArtifact).
 *
 * @module
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { CHUNKING_ALGORITHM, chunkParams, GEAR_TABLE_ID, StreamChunker, type ChunkParams } from "./chunker.js";
import { blake3Hasher } from "./digest.js";
import type { GetCapabilitiesResponse, UploadChunksRequest } from "./gen/llmspell/sessions/v1/artifact.js";

/** Below this size one plain stream is cheaper than a FindMissingChunks round trip (4 MiB). */
export const DEDUP_MIN_BYTES = 4 * 1024 * 1024;
const READ_SIZE = 1024 * 1024;

/** Content to upload by chunks: bytes in memory, or a string naming a file. */
export type ChunkSource = Uint8Array | string;

/** One content-defined chunk of a {@link ChunkPlan}. */
export interface PlannedChunk {
  /** BLAKE3 hex of the chunk's bytes. */
  digest: string;
  offset: number;
  size: number;
}

/** Content cut into the server's chunks, with the digest of the whole. */
export interface ChunkPlan {
  chunks: PlannedChunk[];
  size: number;
  contentDigest: string;
}

/**
 * The chunk parameters the server announces, or undefined when it chunks in a way this client does
 * not implement (then uploads fall back to one plain stream).
 */
export function serverChunking(capabilities: GetCapabilitiesResponse): ChunkParams | undefined {
  const c = capabilities.chunking;
  const known = capabilities.digestFunction === "blake3" && c?.algorithm === CHUNKING_ALGORITHM &&
    c.gearTable === GEAR_TABLE_ID && c.normalization === 1;
  return known ? chunkParams(c.minSize, c.avgSize, c.maxSize) : undefined;
}

/** Cuts and hashes `source` (a file is read once, in 1 MiB pieces). */
export async function planChunks(source: ChunkSource, params: ChunkParams): Promise<ChunkPlan> {
  const [whole, each] = await Promise.all([blake3Hasher(), blake3Hasher()]);
  const chunker = new StreamChunker(params);
  const chunks: PlannedChunk[] = [];
  let offset = 0;
  const add = (pieces: Uint8Array[]) => {
    for (const piece of pieces) {
      each.init();
      chunks.push({ digest: each.update(piece).digest("hex"), offset, size: piece.length });
      offset += piece.length;
    }
  };
  const pieces = typeof source === "string" ? createReadStream(source, { highWaterMark: READ_SIZE }) : [source];
  for await (const piece of pieces as AsyncIterable<Uint8Array>) {
    whole.update(piece);
    add(chunker.push(piece));
  }
  add(chunker.finish());
  return { chunks, size: offset, contentDigest: whole.digest("hex") };
}

/** The chunks of `plan` whose digest is in `missing`, each distinct digest once, in order. */
export function wantedChunks(plan: ChunkPlan, missing: Iterable<string>): PlannedChunk[] {
  const wanted = new Set(missing);
  return plan.chunks.filter((chunk) => wanted.delete(chunk.digest));
}

/** The UploadChunks messages of `chunks`, read from `source` as they are sent. */
export async function* chunkMessages(source: ChunkSource, chunks: PlannedChunk[]): AsyncGenerator<UploadChunksRequest> {
  if (typeof source !== "string") {
    for (const c of chunks) yield { digest: c.digest, data: toBuffer(source.subarray(c.offset, c.offset + c.size)) };
    return;
  }
  const file = await open(source, "r");
  try {
    for (const c of chunks) {
      const data = Buffer.allocUnsafe(c.size);
      const { bytesRead } = await file.read(data, 0, c.size, c.offset);
      if (bytesRead !== c.size) throw new Error(`${source} changed while uploading (short read at ${c.offset})`);
      yield { digest: c.digest, data };
    }
  } finally {
    await file.close();
  }
}

function toBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
