/**
 * The unary ops of the interop driver: each runs one RPC through the client's groups from a step's
 * `args` (proto field names) and returns its result as proto3 JSON with proto field names.
 *
 * @module
 */
import type { CallOptions, HistoryPoint, JsonObject, SessionsClient } from "@llmspell/sessions";
import {
  ApplyChangesRequest, ApplyChangesResponse, BulkSessionActionRequest, BulkSessionActionResponse, Checkpoint, CompareSnapshotsResponse, CreateSessionRequest, Event,
  GetSnapshotRequest, GetSnapshotResponse, GrantSessionAccessRequest, NewEvent, ReadSessionRequest, ReadSessionResponse,
  Session, SetSessionStateRequest,
} from "@llmspell/sessions/proto";
import { protoNames, type Result } from "./compare.js";

/** Scenario arguments after substitution. */
export type Args = Record<string, any>;

/** One op: the client of the scenario's server, the args, and the call options (the step's token). */
export type Op = (client: SessionsClient, args: Args, options: CallOptions) => Promise<Result>;

const json = <T>(fns: { toJSON(message: T): unknown }, message: T): Result => protoNames(fns.toJSON(message)) as Result;
const sessionResult = (session: Session) => json(Session, session);
const withEvents = (result: Result, events: Event[]): Result =>
  ({ ...result, seqs: events.map((e) => e.seq), types: events.map((e) => e.type) });
const names = (list: { name: string }[], sort = false) => {
  const all = list.map((a) => a.name);
  return sort ? all.sort() : all;
};

/** `{"seq": N}` or `{"checkpoint_id": ID}` (or the flat `at_seq` / `checkpoint_id` args) as a point. */
function point(ref: Args | undefined, seqField = "seq"): HistoryPoint {
  if (ref?.checkpoint_id) return { checkpointId: String(ref.checkpoint_id) };
  return { seq: Number(ref?.[seqField] ?? 0) };
}

function etag(args: Args, options: CallOptions) {
  return { ...options, etag: args.etag ?? "" };
}

/** The unary ops by their snake_case names. */
export const UNARY_OPS: Record<string, Op> = {
  create_session: async (c, a, o) => sessionResult(await c.sessions.createSession(CreateSessionRequest.fromJSON(a), o)),
  get_session: async (c, a, o) => sessionResult(await c.sessions.getSession(a.session_id, o)),
  update_session: async (c, a, o) => {
    const { name, description, tags, metadata } = a;
    return sessionResult(await c.sessions.updateSession(a.session_id, { name, description, tags, metadata }, etag(a, o)));
  },
  suspend_session: async (c, a, o) => sessionResult(await c.sessions.suspendSession(a.session_id, etag(a, o))),
  resume_session: async (c, a, o) => sessionResult(await c.sessions.resumeSession(a.session_id, etag(a, o))),
  complete_session: async (c, a, o) => sessionResult(await c.sessions.completeSession(a.session_id, etag(a, o))),
  fail_session: async (c, a, o) => sessionResult(await c.sessions.failSession(a.session_id, a.reason ?? "", etag(a, o))),
  archive_session: async (c, a, o) => sessionResult(await c.sessions.archiveSession(a.session_id, etag(a, o))),
  set_session_state: async (c, a, o) => {
    const request = SetSessionStateRequest.fromJSON(a);
    const options = { ...o, etag: request.etag, deleteKeys: request.deleteKeys };
    return sessionResult(await c.sessions.setState(request.sessionId, request.entries as JsonObject, options));
  },
  get_session_state: async (c, a, o) => ({ entries: await c.sessions.getState(a.session_id, a.keys ?? [], o) }),
  apply_changes: async (c, a, o) => {
    const r = ApplyChangesRequest.fromJSON(a);
    const changes = { entries: r.entries as JsonObject, createEntries: r.createEntries as JsonObject, deleteKeys: r.deleteKeys, events: r.events };
    const options = { ...o, expectedLastSeq: r.expectedLastSeq, etag: r.etag, requestId: r.requestId };
    const applied = await c.sessions.applyChanges(r.sessionId, changes, options);
    return withEvents(json(ApplyChangesResponse, applied), applied.events);
  },
  read_session: async (c, a, o) => {
    const { sessionId, ...query } = ReadSessionRequest.fromJSON(a);
    const read = await c.sessions.readSession(sessionId, query, o);
    return { ...withEvents(json(ReadSessionResponse, read), read.events), keys: read.entries.map((e) => e.key),
      artifact_names: names(read.artifacts) };
  },
  grant_session_access: async (c, a, o) => {
    const r = GrantSessionAccessRequest.fromJSON(a);
    return sessionResult(await c.sessions.grantSessionAccess(r.sessionId, r.subject, r.access, o));
  },
  revoke_session_access: async (c, a, o) => sessionResult(await c.sessions.revokeSessionAccess(a.session_id, a.subject, o)),
  bulk_session_action: async (c, a, o) =>
    json(BulkSessionActionResponse, await c.sessions.bulkSessionAction(BulkSessionActionRequest.fromJSON(a), o)),
  append_events: async (c, a, o) => {
    const list = (a.events ?? []).map((e: unknown) => NewEvent.fromJSON(e));
    const expected = a.expected_last_seq === undefined ? {} : { expectedLastSeq: Number(a.expected_last_seq) };
    const events = await c.replay.appendEvents(a.session_id, list, { ...o, ...expected });
    return withEvents({}, events);
  },
  list_events: async (c, a, o) => {
    const all: Event[] = [];
    const query = { afterSeq: Number(a.after_seq ?? 0), types: a.types ?? [] };
    for await (const event of c.replay.iterateEvents(a.session_id, query, o)) all.push(event);
    return withEvents({}, all);
  },
  create_checkpoint: async (c, a, o) => json(Checkpoint, await c.replay.createCheckpoint(a.session_id, a.label ?? "", o)),
  fork_session: async (c, a, o) => sessionResult(await c.replay.forkSession(a.session_id, point(a, "at_seq"), a.name ?? "", o)),
  get_snapshot: async (c, a, o) => {
    const r = GetSnapshotRequest.fromJSON(a);
    const at: HistoryPoint = r.checkpointId ? { checkpointId: r.checkpointId } : { seq: r.atSeq ?? 0 };
    const snapshot = await c.replay.getSnapshot(r.sessionId, at, o);
    return { ...json(GetSnapshotResponse, snapshot), artifact_names: names(snapshot.artifacts, true) };
  },
  compare_snapshots: async (c, a, o) => {
    const diff = await c.replay.compareSnapshots(a.session_id, point(a.from), point(a.to), o);
    return { ...json(CompareSnapshotsResponse, diff), added_names: names(diff.artifactsAdded, true),
      removed_names: names(diff.artifactsRemoved, true) };
  },
  query_upload_status: async (c, a, o) => {
    const status = await c.artifacts.queryUploadStatus(a.upload_id, o);
    return { committed_size: status.committedSize, complete: status.complete, artifact_id: status.artifactId };
  },
  sleep: async (_c, a) => {
    await new Promise((resolve) => setTimeout(resolve, Number(a.ms)));
    return {};
  },
};
