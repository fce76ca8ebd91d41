/**
 * The interop step operations: each runs one RPC through the wrapper from scenario `args` (proto field
 * names) and returns its result as proto3 JSON with snake_case top-level keys.
 *
 * @module
 */
import { DigestCounter, type JsonObject, type SessionsClient } from "@llmspell/sessions";
import { Artifact, Checkpoint, CreateSessionRequest, Event, NewEvent, Session, UploadHeader } from "@llmspell/sessions/proto";
import { snakeResult, type Result } from "./compare.js";

/** Scenario arguments after substitution. `content` (uploads) is already generated. */
export type Args = Record<string, any> & { content?: Buffer };

/** One operation of the step language. */
export type Op = (client: SessionsClient, args: Args) => Promise<Result>;

const sessionResult = (session: Session): Result => snakeResult(Session.toJSON(session));
const events = (list: Event[]): Result => ({ seqs: list.map((e) => e.seq), types: list.map((e) => e.type) });
const etag = (args: Args) => ({ etag: args.etag ?? "" });

/** The operations by their snake_case RPC names. */
export const OPS: Record<string, Op> = {
  create_session: async (c, a) => sessionResult(await c.sessions.createSession(CreateSessionRequest.fromJSON(a))),
  get_session: async (c, a) => sessionResult(await c.sessions.getSession(a.session_id)),
  update_session: async (c, a) => sessionResult(await c.sessions.updateSession(a.session_id, sessionChanges(a), etag(a))),
  suspend_session: async (c, a) => sessionResult(await c.sessions.suspendSession(a.session_id, etag(a))),
  resume_session: async (c, a) => sessionResult(await c.sessions.resumeSession(a.session_id, etag(a))),
  complete_session: async (c, a) => sessionResult(await c.sessions.completeSession(a.session_id, etag(a))),
  fail_session: async (c, a) => sessionResult(await c.sessions.failSession(a.session_id, a.reason ?? "", etag(a))),
  archive_session: async (c, a) => sessionResult(await c.sessions.archiveSession(a.session_id, etag(a))),
  set_session_state: async (c, a) =>
    sessionResult(await c.sessions.setState(a.session_id, a.entries ?? {}, { deleteKeys: a.delete_keys, ...etag(a) })),
  get_session_state: async (c, a) => ({ entries: await c.sessions.getState(a.session_id, a.keys ?? []) }),
  upload_artifact: async (c, a) => {
    const { content, ...header } = a;
    const artifact = await c.artifacts.uploadArtifact(UploadHeader.fromJSON(header), content ?? Buffer.alloc(0));
    return snakeResult(Artifact.toJSON(artifact));
  },
  download_artifact: async (c, a) => {
    const counter = new DigestCounter();
    await c.artifacts.downloadArtifact(a.artifact_id, counter.update, { offset: Number(a.offset ?? 0), limit: Number(a.limit ?? 0) });
    return { size: counter.size, content_digest: counter.digest() };
  },
  append_events: async (c, a) => {
    const list = (a.events ?? []).map((e: unknown) => NewEvent.fromJSON(e));
    const expected = a.expected_last_seq === undefined ? {} : { expectedLastSeq: Number(a.expected_last_seq) };
    return events(await c.replay.appendEvents(a.session_id, list, expected));
  },
  list_events: async (c, a) => {
    const all: Event[] = [];
    for await (const event of c.replay.iterateEvents(a.session_id, { afterSeq: Number(a.after_seq ?? 0), types: a.types ?? [] })) {
      all.push(event);
    }
    return events(all);
  },
  create_checkpoint: async (c, a) => snakeResult(Checkpoint.toJSON(await c.replay.createCheckpoint(a.session_id, a.label ?? ""))),
  fork_session: async (c, a) => {
    const point = a.checkpoint_id ? { checkpointId: String(a.checkpoint_id) } : { seq: Number(a.at_seq ?? 0) };
    return sessionResult(await c.replay.forkSession(a.session_id, point, a.name ?? ""));
  },
};

function sessionChanges(args: Args): { name?: string; description?: string; tags?: string[]; metadata?: JsonObject } {
  const { name, description, tags, metadata } = args;
  return { name, description, tags, metadata };
}
