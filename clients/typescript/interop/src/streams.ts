/**
 * The streaming ops of the interop driver: uploads (plain, resumed, interrupted, chunked dedup),
 * downloads (whole, ranged, cancelled, checked against a digest) and controlled replay.
 *
 * @module
 */
import { setTimeout as sleep } from "node:timers/promises";
import {
  blake3Hex, DigestCounter, type CallOptions, type ReplayHandle, type SessionsClient,
} from "@llmspell/sessions";
import { Artifact, ReplayStart, UploadHeader, replayStatusToJSON, type ReplayFrame } from "@llmspell/sessions/proto";
import { protoNames, type Result } from "./compare.js";
import { generateContent, type ContentSpec } from "./content.js";
import type { Args } from "./ops.js";

const MiB = 1024 * 1024;
const INTERRUPT_SETTLE_MS = 500;
const STATUS_POLL_MS = 200;
const STATUS_POLL_LIMIT_MS = 10_000;
const REPLAY_LIMIT_MS = 30_000;

/** What a scenario run remembers between steps for the streaming ops. */
export interface StreamContext {
  /** Whether the current step has `"share": true`. */
  share: boolean;
  /** The seed `"$random"` stands for in this run. */
  randomSeed: number;
  /** The content the last upload step generated, and its BLAKE3 hex. */
  lastContent: Buffer;
  lastContentDigest: string;
  /** BLAKE3 of the range the last download step read, of content uploaded in this scenario. */
  rangeDigest: string;
  /** Artifact id → the content this scenario uploaded. */
  contents: Map<string, Buffer>;
  shared: { artifact_id: string; content_digest: string; size: number }[];
}

/** A streaming op. */
export type StreamOp = (client: SessionsClient, args: Args, options: CallOptions, context: StreamContext) => Promise<Result>;

const HEADER_FIELDS = new Set(["session_id", "name", "type", "custom_type", "description", "tags", "mime_type", "metadata",
    "parent_artifact_id", "expected_size", "expected_digest", "upload_id", "write_offset", "request_id"]);

function headerOf(args: Args): UploadHeader {
  return UploadHeader.fromJSON(Object.fromEntries(Object.entries(args).filter(([k]) => HEADER_FIELDS.has(k))));
}

async function contentOf(args: Args, context: StreamContext): Promise<Buffer> {
  const spec = { ...(args.content as ContentSpec) };
  if (spec.seed === "$random") spec.seed = context.randomSeed;
  context.lastContent = generateContent(spec);
  context.lastContentDigest = await blake3Hex(context.lastContent);
  return context.lastContent;
}

function uploaded(artifact: Artifact, data: Buffer, context: StreamContext): Result {
  context.contents.set(artifact.artifactId, data);
  if (context.share) {
    context.shared.push({ artifact_id: artifact.artifactId, content_digest: artifact.contentDigest, size: artifact.size });
  }
  return protoNames(Artifact.toJSON(artifact)) as Result;
}

function* pieces(data: Buffer, start = 0): Generator<Buffer> {
  for (let at = start; at < data.length; at += MiB) yield data.subarray(at, at + MiB);
}

async function uploadArtifact(client: SessionsClient, args: Args, options: CallOptions, context: StreamContext): Promise<Result> {
  const data = await contentOf(args, context);
  const header = headerOf(args);
  if (args.interrupt_after_messages !== undefined) {
    return interruptedUpload(client, header, data, Number(args.interrupt_after_messages), options);
  }
  const artifact = await client.artifacts.uploadArtifact(header, pieces(data, header.writeOffset), options);
  return uploaded(artifact, data, context);
}

/** Sends the header and `messages` MiB, waits, cancels (never half-closes); the settled upload status. */
async function interruptedUpload(
  client: SessionsClient, header: UploadHeader, data: Buffer, messages: number, options: CallOptions,
): Promise<Result> {
  const controller = new AbortController();
  async function* held() {
    yield* [...pieces(data)].slice(0, messages);
    await sleep(REPLAY_LIMIT_MS, undefined, { ref: false }); // held open until the cancel
  }
  const upload = client.artifacts.uploadArtifact(header, held(), { ...options, signal: controller.signal });
  upload.catch(() => undefined);
  await sleep(INTERRUPT_SETTLE_MS);
  controller.abort();
  await upload.then(() => { throw new Error("the interrupted upload completed"); }, () => undefined);
  const status = async () => {
    const s = await client.artifacts.queryUploadStatus(header.uploadId, options);
    return { committed_size: s.committedSize, complete: s.complete, artifact_id: s.artifactId };
  };
  const deadline = Date.now() + STATUS_POLL_LIMIT_MS;
  let previous = await status();
  for (;;) {
    await sleep(STATUS_POLL_MS);
    const next = await status();
    if (JSON.stringify(next) === JSON.stringify(previous) || Date.now() > deadline) return next;
    previous = next;
  }
}

async function uploadChunked(client: SessionsClient, args: Args, options: CallOptions, context: StreamContext): Promise<Result> {
  const data = await contentOf(args, context);
  const upload = await client.artifacts.uploadChunked(headerOf(args), data, options);
  return { ...uploaded(upload.artifact, data, context), bytes_sent: upload.bytesSent, chunks_sent: upload.chunksSent };
}

async function downloadArtifact(client: SessionsClient, args: Args, options: CallOptions, context: StreamContext): Promise<Result> {
  const offset = Number(args.offset ?? 0);
  const limit = Number(args.limit ?? 0);
  const whole = context.contents.get(args.artifact_id) ?? Buffer.alloc(0);
  context.rangeDigest = await blake3Hex(whole.subarray(offset, limit > 0 ? offset + limit : undefined));
  const controller = new AbortController();
  const cancelAfter = args.cancel_after_bytes === undefined ? undefined : Number(args.cancel_after_bytes);
  const received = await DigestCounter.create();
  const sink = (chunk: Uint8Array) => {
    received.update(chunk);
    if (cancelAfter !== undefined && received.size >= cancelAfter) controller.abort();
  };
  // expected_digest goes through the client's own check (an IntegrityError on a mismatch).
  const check = args.expected_digest === undefined ? {} : { expectedDigest: String(args.expected_digest) };
  await client.artifacts.downloadArtifact(args.artifact_id, sink, { ...options, offset, limit, signal: controller.signal, ...check });
  return { size: received.size, content_digest: received.digest() };
}

/** Sends the schedule's controls as frames arrive, reads every frame, and describes them. */
async function replaySession(client: SessionsClient, args: Args, options: CallOptions): Promise<Result> {
  const { controls = [], ...startArgs } = args;
  const replay = client.replay.replaySession(ReplayStart.fromJSON(startArgs), options);
  const frames: ReplayFrame[] = [];
  let arrived = () => {};
  let ended = false;
  const waitFrames = async (count: number) => {
    while (!ended && frames.length < count) await new Promise<void>((resolve) => (arrived = resolve));
  };
  const sender = (async () => {
    for (const entry of controls as { after_frame?: number; delay_ms?: number; send: unknown[] }[]) {
      await waitFrames(Number(entry.after_frame ?? 0));
      if (ended) return;
      if (entry.delay_ms) await sleep(Number(entry.delay_ms));
      if (ended) return;
      for (const control of entry.send) sendControl(replay, control);
    }
  })();
  const timer = setTimeout(() => replay.cancel(), REPLAY_LIMIT_MS);
  try {
    for await (const frame of replay) {
      frames.push(frame);
      arrived();
    }
  } finally {
    clearTimeout(timer);
    ended = true;
    arrived();
  }
  await sender;
  return {
    seqs: frames.map((f) => f.event?.seq ?? 0),
    statuses: frames.map((f) => replayStatusToJSON(f.status)),
    indexes: frames.map((f) => f.index),
    total: frames.at(-1)?.total ?? 0,
    changed_keys: frames.map((f) => f.changedKeys),
  };
}

function sendControl(replay: ReplayHandle, control: unknown): void {
  if (control === "pause") replay.pause();
  else if (control === "resume") replay.resume();
  else if (control === "step") replay.step();
  else if (control === "stop") replay.stop();
  else if (typeof control === "object" && control !== null && "set_speed" in control) replay.setSpeed(Number(control.set_speed));
  else if (typeof control === "object" && control !== null && "add_breakpoint" in control) {
    const mark = control.add_breakpoint as { seq?: number; event_type?: string };
    replay.addBreakpoint({ seq: Number(mark.seq ?? 0), eventType: mark.event_type ?? "" });
  } else throw new Error(`unknown replay control ${JSON.stringify(control)}`);
}

/** The streaming ops by their snake_case names. */
export const STREAM_OPS: Record<string, StreamOp> = {
  upload_artifact: uploadArtifact,
  upload_chunked: uploadChunked,
  download_artifact: downloadArtifact,
  replay_session: (client, args, options) => replaySession(client, args, options),
};
