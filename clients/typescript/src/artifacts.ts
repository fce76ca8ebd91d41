/**
 * ArtifactService calls: streaming upload and download, unary store, lookup, listing and the
 * chunk-level calls used for client-side deduplication.
 *
 * @module
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Artifact } from "./gen/llmspell/sessions/v1/common.js";
import {
  ListArtifactsRequest,
  UploadHeader,
  type ChunkRef,
  type GetCapabilitiesResponse,
  type GetStorageStatsResponse,
  type ListArtifactsResponse,
  type QueryUploadStatusResponse,
  type UploadArtifactRequest,
  type UploadChunksRequest,
  type UploadChunksResponse,
} from "./gen/llmspell/sessions/v1/artifact.js";
import { chunkMessages, DEDUP_MIN_BYTES, planChunks, serverChunking, wantedChunks, type ChunkSource } from "./dedup.js";
import { DigestCounter } from "./digest.js";
import { GrpcStatus, SessionsError } from "./errors.js";
import { checkJsonObject, type JsonObject } from "./json.js";
import { cancelOnAbort, type CallOptions, type Rpc } from "./rpc.js";
import {
  asBuffer, deliver, isLocal, rechunk, writeClientStream, UPLOAD_MESSAGE_SIZE, type DownloadSink, type UploadSource,
} from "./streams.js";
import { checkDownload, writeThenRename } from "./verify.js";

/** The header of an upload: where the artifact goes and what it is. Only `sessionId` and `name` are required. */
export type UploadHeaderInput = Partial<Omit<UploadHeader, "metadata">> & {
  sessionId: string;
  name: string;
  metadata?: JsonObject;
};

/** Options of uploads. */
export interface UploadOptions extends CallOptions {
  /** Bytes per data message; default {@link UPLOAD_MESSAGE_SIZE} (1 MiB). */
  messageSize?: number;
}

/** Options of {@link ArtifactCalls.uploadFile}. */
export interface UploadFileOptions extends UploadOptions {
  /** `false` streams a large file whole instead of by chunks (default: by chunks from 4 MiB). */
  dedup?: boolean;
}

/** What {@link ArtifactCalls.uploadChunked} stored and how much it had to send. */
export interface ChunkedUpload {
  artifact: Artifact;
  /** Chunks the content was cut into (0 when the server's chunking was not supported). */
  chunks: number;
  /** Chunks sent in UploadChunks: those the store lacked, each distinct one once. */
  chunksSent: number;
  /** Bytes of chunk data sent (the whole size when the content went as one plain stream). */
  bytesSent: number;
}

const FIND_MISSING_BATCH = 1000;

/** Options of downloads: a byte range, what the bytes must match, and call options. */
export interface DownloadOptions extends CallOptions {
  /** First byte to read. */
  offset?: number;
  /** Bytes to read; 0 or absent = to the end. */
  limit?: number;
  /**
   * The BLAKE3 hex the bytes must have, instead of the artifact's `contentDigest` (which only covers
   * whole downloads). A mismatch is an {@link IntegrityError}.
   */
  expectedDigest?: string;
  /** `false` skips the size and digest check (default: checked). */
  verify?: boolean;
}

/** A whole artifact read into memory by {@link ArtifactCalls.readArtifact}. */
export interface ArtifactContent {
  artifact: Artifact;
  content: Buffer;
}

/** An artifact by id, or by session and name (version 0 or absent = latest). */
export type ArtifactRef = string | { sessionId: string; name: string; version?: number };

/** Filters and ordering of {@link ArtifactCalls.listArtifacts}; `sessionId` is required. */
export type ListArtifactsQuery = Partial<ListArtifactsRequest> & { sessionId: string };

/** ArtifactService calls: `client.artifacts`. */
export class ArtifactCalls {
  readonly #rpc: Rpc;

  /** A group of calls over `rpc`; {@link SessionsClient} builds one of each. */
  constructor(rpc: Rpc) {
    this.#rpc = rpc;
  }

  /**
   * Streams `source` as a new artifact (or a new version of `header.name`): the header, then data
   * messages of 1 MiB. A `Readable` or any (async) iterable of buffers is read as it is sent.
   */
  async uploadArtifact(header: UploadHeaderInput, source: UploadSource, options: UploadOptions = {}): Promise<Artifact> {
    const messages = uploadMessages(toHeader(header), source, options.messageSize ?? UPLOAD_MESSAGE_SIZE);
    const open = this.#rpc.raw.artifacts.uploadArtifact.bind(this.#rpc.raw.artifacts);
    return writeClientStream(open, messages, this.#rpc.metadata(options), this.#rpc.grpcOptions(options, true), options.signal);
  }

  /**
   * Uploads the file at `path`. Files of 4 MiB or more go by chunks (see {@link uploadChunked}), so
   * re-uploading an edited file sends little more than the edits; `dedup: false` streams them whole.
   * With `header.uploadId` the upload is resumable instead (see {@link resumeUpload}).
   */
  async uploadFile(header: UploadHeaderInput, path: string, options: UploadFileOptions = {}): Promise<Artifact> {
    if (header.uploadId) return this.resumeUpload(header, path, options);
    const { size } = await stat(path);
    const sized = { expectedSize: size, ...header };
    if (options.dedup !== false && size >= DEDUP_MIN_BYTES) return (await this.uploadChunked(sized, path, options)).artifact;
    const messageSize = options.messageSize ?? UPLOAD_MESSAGE_SIZE;
    return this.uploadArtifact(sized, createReadStream(path, { highWaterMark: messageSize }), options);
  }

  /**
   * Uploads `source` (bytes, or a string naming a file) by content-defined chunks: cuts it as the
   * server does (FastCDC with the parameters GetCapabilities announces), hashes each chunk with BLAKE3,
   * asks FindMissingChunks which ones the store lacks, sends only those (each once) in one UploadChunks
   * stream, then CommitArtifact builds the artifact from every chunk in order. A server whose chunking
   * this client does not implement gets one plain stream instead.
   */
  async uploadChunked(header: UploadHeaderInput, source: ChunkSource, options: CallOptions = {}): Promise<ChunkedUpload> {
    const params = serverChunking(await this.#capabilities(options));
    if (!params) {
      const stream = typeof source === "string" ? createReadStream(source, { highWaterMark: UPLOAD_MESSAGE_SIZE }) : source;
      const artifact = await this.uploadArtifact(header, stream, options);
      return { artifact, chunks: 0, chunksSent: 0, bytesSent: artifact.size };
    }
    const plan = await planChunks(source, params);
    const missing: string[] = [];
    const digests = [...new Set(plan.chunks.map((chunk) => chunk.digest))];
    for (let at = 0; at < digests.length; at += FIND_MISSING_BATCH) {
      missing.push(...await this.findMissingChunks(digests.slice(at, at + FIND_MISSING_BATCH), options));
    }
    const wanted = wantedChunks(plan, missing);
    if (wanted.length > 0) await this.uploadChunks(chunkMessages(source, wanted), options);
    const refs = plan.chunks.map(({ digest, size }) => ({ digest, size }));
    const artifact = await this.commitArtifact({ expectedSize: plan.size, ...header }, refs, plan.contentDigest, options);
    const bytesSent = wanted.reduce((sum, chunk) => sum + chunk.size, 0);
    return { artifact, chunks: plan.chunks.length, chunksSent: wanted.length, bytesSent };
  }

  /**
   * Uploads `source` (bytes, or a string naming a file) resumably under `header.uploadId`: asks
   * QueryUploadStatus how much the server holds and streams the rest from there (`writeOffset`). Call
   * it again with the same upload id after an interrupted attempt; an upload that already completed
   * returns its artifact.
   */
  async resumeUpload(header: UploadHeaderInput, source: ChunkSource, options: UploadOptions = {}): Promise<Artifact> {
    if (!header.uploadId) throw new TypeError("resumeUpload needs header.uploadId");
    const status = await this.queryUploadStatus(header.uploadId, options).catch((error: unknown) => {
      if (error instanceof SessionsError && error.reason === "UPLOAD_NOT_FOUND") return undefined;
      throw error;
    });
    if (status?.complete) return this.getArtifact(status.artifactId, options);
    const offset = status?.committedSize ?? 0;
    const messageSize = options.messageSize ?? UPLOAD_MESSAGE_SIZE;
    const rest = typeof source === "string"
      ? createReadStream(source, { start: offset, highWaterMark: messageSize }) : source.subarray(offset);
    return this.uploadArtifact({ ...header, writeOffset: offset }, rest, options);
  }

  #capabilitiesCache?: Promise<GetCapabilitiesResponse>;

  /** GetCapabilities, asked once per client (a failed answer is asked again next time). */
  #capabilities(options: CallOptions): Promise<GetCapabilitiesResponse> {
    this.#capabilitiesCache ??= this.getCapabilities(options).catch((error: unknown) => {
      this.#capabilitiesCache = undefined;
      throw error;
    });
    return this.#capabilitiesCache;
  }

  /** Stores small content in one unary call. */
  storeArtifact(header: UploadHeaderInput, content: Uint8Array, options?: CallOptions): Promise<Artifact> {
    const request = { header: toHeader(header), content: asBuffer(content) };
    return this.#rpc.unary(this.#rpc.raw.artifacts.storeArtifact.bind(this.#rpc.raw.artifacts), request, options);
  }

  /**
   * Streams an artifact's bytes (by id, or by session and name: latest version unless given; or the
   * range `offset`, `limit`) into `sink` and returns its metadata.
   * A `Writable` sink is written with backpressure and left open. The bytes are hashed as they arrive
   * and checked at the end (see {@link DownloadOptions.verify}); as `sink` has seen them by then, use
   * {@link downloadFile} or {@link readArtifact} when nothing unchecked may be kept.
   */
  async downloadArtifact(ref: ArtifactRef, sink: DownloadSink, options: DownloadOptions = {}): Promise<Artifact> {
    const check = { offset: options.offset ?? 0, limit: options.limit ?? 0, expectedDigest: options.expectedDigest };
    const request = { ...refFields(ref), offset: check.offset, limit: check.limit };
    const received = await DigestCounter.create();
    const call = this.#rpc.raw.artifacts.downloadArtifact(request, this.#rpc.metadata(options), this.#rpc.grpcOptions(options, true));
    const release = cancelOnAbort(call, options.signal);
    let artifact: Artifact | undefined;
    try {
      for await (const message of call as AsyncIterable<{ artifact?: Artifact; data?: Uint8Array }>) {
        if (message.artifact) artifact = message.artifact;
        else if (message.data) {
          received.update(message.data);
          await deliver(sink, message.data);
        }
      }
    } catch (error) {
      throw isLocal(error) ? error : SessionsError.from(error);
    } finally {
      release();
      call.cancel(); // a no-op once the stream completed; stops it when the sink failed
    }
    if (!artifact) throw new SessionsError(GrpcStatus.INTERNAL, "download stream carried no artifact metadata");
    if (options.verify !== false) checkDownload(artifact, received, check);
    return artifact;
  }

  /**
   * Downloads an artifact into the file at `path`: the bytes go to a temporary file in the same
   * directory, renamed to `path` only once size and digest match. A failed or mismatching download
   * (an {@link IntegrityError}) leaves `path` untouched.
   */
  downloadFile(ref: ArtifactRef, path: string, options: DownloadOptions = {}): Promise<Artifact> {
    return writeThenRename(path, (file) => this.downloadArtifact(ref, file, options));
  }

  /** Downloads a whole artifact (or a range) into memory, checked like {@link downloadArtifact}. */
  async readArtifact(ref: ArtifactRef, options: DownloadOptions = {}): Promise<ArtifactContent> {
    const chunks: Uint8Array[] = [];
    const artifact = await this.downloadArtifact(ref, (chunk) => void chunks.push(chunk), options);
    return { artifact, content: Buffer.concat(chunks) };
  }

  /** Reads an artifact's metadata by id, or by session and name (latest version unless given). */
  getArtifact(ref: ArtifactRef, options?: CallOptions): Promise<Artifact> {
    const request = refFields(ref);
    return this.#rpc.unary(this.#rpc.raw.artifacts.getArtifact.bind(this.#rpc.raw.artifacts), request, options);
  }

  /** Reads one page of a session's artifacts. */
  listArtifacts(query: ListArtifactsQuery, options?: CallOptions): Promise<ListArtifactsResponse> {
    const request = ListArtifactsRequest.fromPartial(query);
    return this.#rpc.unary(this.#rpc.raw.artifacts.listArtifacts.bind(this.#rpc.raw.artifacts), request, options);
  }

  /** Iterates over every artifact matching `query`, fetching pages as needed. */
  async *iterateArtifacts(query: Omit<ListArtifactsQuery, "pageToken">, options?: CallOptions): AsyncGenerator<Artifact> {
    let pageToken = "";
    do {
      const page = await this.listArtifacts({ ...query, pageToken }, options);
      yield* page.artifacts;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /** Deletes one artifact version; content still referenced elsewhere stays stored. */
  async deleteArtifact(artifactId: string, options?: CallOptions): Promise<void> {
    await this.#rpc.unary(this.#rpc.raw.artifacts.deleteArtifact.bind(this.#rpc.raw.artifacts), { artifactId }, options);
  }

  /** How much of a resumable upload (one with `uploadId`) the server holds. */
  queryUploadStatus(uploadId: string, options?: CallOptions): Promise<QueryUploadStatusResponse> {
    return this.#rpc.unary(this.#rpc.raw.artifacts.queryUploadStatus.bind(this.#rpc.raw.artifacts), { uploadId }, options);
  }

  /** The chunk digests (BLAKE3 hex of uncompressed bytes) the store does not hold. */
  async findMissingChunks(digests: string[], options?: CallOptions): Promise<string[]> {
    const response = await this.#rpc.unary(
      this.#rpc.raw.artifacts.findMissingChunks.bind(this.#rpc.raw.artifacts), { digests }, options);
    return response.missingDigests;
  }

  /** Streams chunks (each with its BLAKE3 digest) into the store. */
  async uploadChunks(
    chunks: Iterable<UploadChunksRequest> | AsyncIterable<UploadChunksRequest>, options: CallOptions = {},
  ): Promise<UploadChunksResponse> {
    const open = this.#rpc.raw.artifacts.uploadChunks.bind(this.#rpc.raw.artifacts);
    return writeClientStream(open, toAsync(chunks), this.#rpc.metadata(options), this.#rpc.grpcOptions(options, true), options.signal);
  }

  /** Builds an artifact from chunks already stored; an unknown chunk fails with MISSING_CHUNKS. */
  commitArtifact(
    header: UploadHeaderInput, chunks: ChunkRef[], contentDigest: string, options?: CallOptions,
  ): Promise<Artifact> {
    const request = { header: toHeader(header), chunks, contentDigest };
    return this.#rpc.unary(this.#rpc.raw.artifacts.commitArtifact.bind(this.#rpc.raw.artifacts), request, options);
  }

  /** The server's digest, compression, size limits and chunking parameters. */
  getCapabilities(options?: CallOptions): Promise<GetCapabilitiesResponse> {
    return this.#rpc.unary(this.#rpc.raw.artifacts.getCapabilities.bind(this.#rpc.raw.artifacts), {}, options);
  }

  /** Storage use of one session, or of the caller's whole tenant when `sessionId` is omitted. */
  getStorageStats(sessionId = "", options?: CallOptions): Promise<GetStorageStatsResponse> {
    return this.#rpc.unary(this.#rpc.raw.artifacts.getStorageStats.bind(this.#rpc.raw.artifacts), { sessionId }, options);
  }
}

/** The request fields naming an artifact: its id, or its session, name and version (0 = latest). */
function refFields(ref: ArtifactRef): { artifactId: string; sessionId: string; name: string; version: number } {
  return typeof ref === "string"
    ? { artifactId: ref, sessionId: "", name: "", version: 0 }
    : { artifactId: "", sessionId: ref.sessionId, name: ref.name, version: ref.version ?? 0 };
}

function toHeader(header: UploadHeaderInput): UploadHeader {
  if (header.metadata) checkJsonObject(header.metadata, "metadata");
  return UploadHeader.fromPartial(header);
}

async function* uploadMessages(header: UploadHeader, source: UploadSource, size: number): AsyncGenerator<UploadArtifactRequest> {
  yield { header };
  for await (const data of rechunk(source, size)) yield { data: asBuffer(data) };
}

async function* toAsync<T>(items: Iterable<T> | AsyncIterable<T>): AsyncGenerator<T> {
  yield* items;
}
