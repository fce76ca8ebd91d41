/**
 * Streaming helpers: re-chunking an upload source into fixed-size messages, writing a client stream
 * with backpressure, and delivering downloaded bytes to a sink.
 *
 * @module
 */
import { once } from "node:events";
import type { Writable } from "node:stream";
import type { ClientWritableStream, Metadata, CallOptions as GrpcCallOptions, ServiceError } from "@grpc/grpc-js";
import { SessionsError } from "./errors.js";
import { cancelOnAbort } from "./rpc.js";

/** The size of the data messages of an upload: 1 MiB. */
export const UPLOAD_MESSAGE_SIZE = 1024 * 1024;

/** Bytes to upload: a buffer, or any (async) iterable of buffers such as a `Readable`. */
export type UploadSource = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

/** Where downloaded bytes go: a `Writable` (not ended by the client) or a callback per chunk. */
export type DownloadSink = Writable | ((chunk: Uint8Array) => void | Promise<void>);

/** Yields the bytes of `source` in pieces of exactly `size` bytes; only the last may be shorter. */
export async function* rechunk(source: UploadSource, size = UPLOAD_MESSAGE_SIZE): AsyncGenerator<Uint8Array> {
  if (source instanceof Uint8Array) source = [source];
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  for await (const item of source as AsyncIterable<Uint8Array | string>) {
    let chunk = typeof item === "string" ? Buffer.from(item) : item;
    while (pendingBytes + chunk.length >= size) {
      const take = size - pendingBytes;
      yield pending.length === 0 ? chunk.subarray(0, take) : Buffer.concat([...pending, chunk.subarray(0, take)]);
      pending = [];
      pendingBytes = 0;
      chunk = chunk.subarray(take);
    }
    if (chunk.length > 0) {
      pending.push(chunk);
      pendingBytes += chunk.length;
    }
  }
  if (pendingBytes > 0) yield pending.length === 1 ? pending[0]! : Buffer.concat(pending);
}

/** Opens a client-streaming call with its completion callback. */
export type OpenClientStream<Req, Res> = (
  metadata: Metadata,
  options: Partial<GrpcCallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientWritableStream<Req>;

/**
 * Writes `messages` to a client-streaming call, honouring backpressure, and returns the response.
 *
 * Stops writing as soon as the server answers early (e.g. a size limit), so that the server's error
 * is the one reported; cancels the call when the source fails or `signal` aborts.
 */
export async function writeClientStream<Req, Res>(
  open: OpenClientStream<Req, Res>,
  messages: AsyncIterable<Req>,
  metadata: Metadata,
  options: Partial<GrpcCallOptions>,
  signal?: AbortSignal,
): Promise<Res> {
  let call!: ClientWritableStream<Req>;
  let settled = false;
  const response = new Promise<Res>((resolve, reject) => {
    call = open(metadata, options, (error, result) => (error ? reject(SessionsError.from(error)) : resolve(result)));
  });
  response.then(() => (settled = true), () => (settled = true));
  const release = cancelOnAbort(call, signal);
  const ended = response.then(() => END, () => END);
  const source = messages[Symbol.asyncIterator]();
  try {
    for (;;) {
      // Raced against the response: a cancelled or refused call must not wait for a slow source.
      const next = await Promise.race([source.next(), ended]);
      if (typeof next === "symbol" || next.done) break;
      if (!call.write(next.value)) await drained(call, response);
    }
    if (!settled) call.end();
    return await response;
  } catch (error) {
    call.cancel();
    throw settled ? await response.then(() => error, (failure: unknown) => failure) : error;
  } finally {
    release();
    if (settled) void source.return?.(undefined)?.catch(() => undefined); // stop reading the source
  }
}

const END = Symbol("end");

async function drained<Req>(call: ClientWritableStream<Req>, response: Promise<unknown>): Promise<void> {
  const stop = new AbortController();
  try {
    await Promise.race([once(call, "drain", { signal: stop.signal }), response]);
  } finally {
    stop.abort();
  }
}

/** Hands one downloaded chunk to `sink`, waiting for a `Writable` to drain when it asks to. */
export async function deliver(sink: DownloadSink, chunk: Uint8Array): Promise<void> {
  if (typeof sink === "function") {
    await sink(chunk);
    return;
  }
  if (!sink.write(chunk)) await once(sink, "drain");
}

/** Whether an error came from the caller's side (a sink, a source) rather than from the call: those keep their identity. */
export function isLocal(error: unknown): boolean {
  return !(error instanceof Error && typeof (error as { code?: unknown }).code === "number");
}

/** A Buffer view of `bytes`, without copying (the generated messages type bytes fields as Buffer). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
