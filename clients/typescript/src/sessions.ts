/**
 * SessionService calls: lifecycle, listing, metadata updates and key-value state.
 *
 * @module
 */
import { Session, SessionAccess, type Artifact, type Event } from "./gen/llmspell/sessions/v1/common.js";
import {
  BulkSessionActionRequest,
  CreateSessionRequest,
  ListSessionsRequest,
  type BulkAction,
  type BulkSessionActionResponse,
  ReadSessionRequest,
  type BackupFile,
  type BackupStorePart,
  type ImportSessionsResponse,
  type ListSessionsResponse,
  type ReadSessionResponse,
} from "./gen/llmspell/sessions/v1/session.js";
import { checkJsonObject, type JsonObject } from "./json.js";
import { backupStore, exportSessions, importSessions } from "./operations.js";
import type { DownloadSink, UploadSource } from "./streams.js";
import type { CallOptions, Rpc } from "./rpc.js";

/** Fields of a new session. */
export interface CreateSessionInput {
  name?: string;
  description?: string;
  tags?: string[];
  metadata?: JsonObject;
  /** Makes the new session a child of this one. */
  parentSessionId?: string;
  /** Idempotency key: a retry with the same id within 10 minutes returns the same session. */
  requestId?: string;
}

/** Filters and ordering of {@link SessionCalls.listSessions}; every field is optional. */
export type ListSessionsQuery = Partial<ListSessionsRequest>;

/**
 * One call of {@link SessionCalls.bulkSessionAction}: the action, the sessions (a ListSessions filter
 * without its paging fields), the fail reason, dry run, how many per call and where to continue.
 */
export interface BulkSessionActionInput {
  action: BulkAction;
  filter?: Omit<ListSessionsQuery, "pageSize" | "pageToken" | "orderBy">;
  reason?: string;
  dryRun?: boolean;
  /** Sessions per call: 0 = the server's 100, at most 1000. */
  pageSize?: number;
  pageToken?: string;
}

/** The fields {@link SessionCalls.updateSession} can change; each one given goes in the update mask. */
export interface SessionChanges {
  name?: string;
  description?: string;
  tags?: string[];
  metadata?: JsonObject;
}

/** Options of calls that take an etag for optimistic concurrency (a stale one fails with ABORTED). */
export interface EtagOptions extends CallOptions {
  etag?: string;
}

/** Options of {@link SessionCalls.setState}. */
export interface SetStateOptions extends EtagOptions {
  /** Keys removed in the same step as the entries are set. */
  deleteKeys?: string[];
}

/** Everything needed to restore a session: its record, state and latest artifact versions. */
export interface LoadedSession {
  session: Session;
  state: JsonObject;
  /** Latest version of each artifact name (metadata only). */
  artifacts: Artifact[];
}

/** What {@link SessionCalls.applyChanges} writes in one atomic step. */
export interface SessionChangeSet {
  /** Keys to set. */
  entries?: JsonObject;
  /** Keys to set only where they do not exist yet (existing keys keep their value). */
  createEntries?: JsonObject;
  deleteKeys?: string[];
  /** Client events appended after the `state.changed` event (at most 1000). */
  events?: { type: string; payload?: JsonObject; correlationId?: string; causationId?: string }[];
}

/** Options of {@link SessionCalls.applyChanges}. */
export interface ApplyOptions extends EtagOptions {
  /** Fails with ABORTED / SEQ_MISMATCH unless the log's last seq is exactly this. */
  expectedLastSeq?: number;
  /** Idempotency key: a retry within 10 minutes returns the first call's result. */
  requestId?: string;
}

/** The session and every event one {@link SessionCalls.applyChanges} appended, in seq order. */
export interface AppliedChanges {
  session: Session;
  events: Event[];
}

/** What {@link SessionCalls.readSession} reads; every field is optional (the record is always read). */
export type ReadSessionQuery = Partial<Omit<ReadSessionRequest, "sessionId">>;

const UPDATABLE = ["name", "description", "tags", "metadata"] as const;

/** SessionService calls: `client.sessions`. */
export class SessionCalls {
  readonly #rpc: Rpc;

  /** A group of calls over `rpc`; {@link SessionsClient} builds one of each. */
  constructor(rpc: Rpc) {
    this.#rpc = rpc;
  }

  /** Creates an ACTIVE session. */
  createSession(input: CreateSessionInput = {}, options?: CallOptions): Promise<Session> {
    if (input.metadata) checkJsonObject(input.metadata, "metadata");
    const request = CreateSessionRequest.fromPartial(input);
    return this.#rpc.unary(this.#rpc.raw.sessions.createSession.bind(this.#rpc.raw.sessions), request, options);
  }

  /** Reads one session; a missing one fails with NOT_FOUND / SESSION_NOT_FOUND. */
  getSession(sessionId: string, options?: CallOptions): Promise<Session> {
    return this.#rpc.unary(this.#rpc.raw.sessions.getSession.bind(this.#rpc.raw.sessions), { sessionId }, options);
  }

  /** Reads one page of sessions (ARCHIVED ones only when `states` asks for them). */
  listSessions(query: ListSessionsQuery = {}, options?: CallOptions): Promise<ListSessionsResponse> {
    const request = ListSessionsRequest.fromPartial(query);
    return this.#rpc.unary(this.#rpc.raw.sessions.listSessions.bind(this.#rpc.raw.sessions), request, options);
  }

  /** Iterates over every session matching `query`, fetching pages as needed. */
  async *iterateSessions(query: Omit<ListSessionsQuery, "pageToken"> = {}, options?: CallOptions): AsyncGenerator<Session> {
    let pageToken = "";
    do {
      const page = await this.listSessions({ ...query, pageToken }, options);
      yield* page.sessions;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /** Changes the fields present in `changes` (the update mask lists exactly those). */
  updateSession(sessionId: string, changes: SessionChanges, options: EtagOptions = {}): Promise<Session> {
    const paths = UPDATABLE.filter((field) => changes[field] !== undefined);
    if (changes.metadata) checkJsonObject(changes.metadata, "metadata");
    const session = Session.fromPartial({ ...changes, sessionId, etag: options.etag ?? "" });
    const request = { session, updateMask: [...paths] };
    return this.#rpc.unary(this.#rpc.raw.sessions.updateSession.bind(this.#rpc.raw.sessions), request, options);
  }

  /** ACTIVE → SUSPENDED. */
  suspendSession(sessionId: string, options: EtagOptions = {}): Promise<Session> {
    const request = { sessionId, etag: options.etag ?? "" };
    return this.#rpc.unary(this.#rpc.raw.sessions.suspendSession.bind(this.#rpc.raw.sessions), request, options);
  }

  /** SUSPENDED → ACTIVE. */
  resumeSession(sessionId: string, options: EtagOptions = {}): Promise<Session> {
    const request = { sessionId, etag: options.etag ?? "" };
    return this.#rpc.unary(this.#rpc.raw.sessions.resumeSession.bind(this.#rpc.raw.sessions), request, options);
  }

  /** ACTIVE or SUSPENDED → COMPLETED. */
  completeSession(sessionId: string, options: EtagOptions = {}): Promise<Session> {
    const request = { sessionId, etag: options.etag ?? "" };
    return this.#rpc.unary(this.#rpc.raw.sessions.completeSession.bind(this.#rpc.raw.sessions), request, options);
  }

  /** ACTIVE or SUSPENDED → FAILED, recording `reason`. */
  failSession(sessionId: string, reason: string, options: EtagOptions = {}): Promise<Session> {
    const request = { sessionId, reason, etag: options.etag ?? "" };
    return this.#rpc.unary(this.#rpc.raw.sessions.failSession.bind(this.#rpc.raw.sessions), request, options);
  }

  /** COMPLETED or FAILED → ARCHIVED (read-only, hidden from listings unless asked for). */
  archiveSession(sessionId: string, options: EtagOptions = {}): Promise<Session> {
    const request = { sessionId, etag: options.etag ?? "" };
    return this.#rpc.unary(this.#rpc.raw.sessions.archiveSession.bind(this.#rpc.raw.sessions), request, options);
  }

  /** Deletes the session with its artifacts, state, events and checkpoints. */
  async deleteSession(sessionId: string, options: EtagOptions = {}): Promise<void> {
    const request = { sessionId, etag: options.etag ?? "" };
    await this.#rpc.unary(this.#rpc.raw.sessions.deleteSession.bind(this.#rpc.raw.sessions), request, options);
  }

  /** Returns once the session and everything written before it is durable on disk. */
  saveSession(sessionId: string, options?: CallOptions): Promise<Session> {
    return this.#rpc.unary(this.#rpc.raw.sessions.saveSession.bind(this.#rpc.raw.sessions), { sessionId }, options);
  }

  /** Reads the whole restorable session in one call. */
  async loadSession(sessionId: string, options?: CallOptions): Promise<LoadedSession> {
    const loaded = await this.#rpc.unary(this.#rpc.raw.sessions.loadSession.bind(this.#rpc.raw.sessions), { sessionId }, options);
    return { session: loaded.session ?? Session.fromPartial({}), state: loaded.state as JsonObject, artifacts: loaded.artifacts };
  }

  /** Sets `entries` and removes `deleteKeys` in one step (one `state.changed` event). */
  setState(sessionId: string, entries: JsonObject, options: SetStateOptions = {}): Promise<Session> {
    checkJsonObject(entries, "entries");
    const request = { sessionId, entries, deleteKeys: options.deleteKeys ?? [], etag: options.etag ?? "" };
    return this.#rpc.unary(this.#rpc.raw.sessions.setSessionState.bind(this.#rpc.raw.sessions), request, options);
  }

  /** Reads state entries as plain JSON values; no `keys` means every key. Missing keys are absent. */
  async getState(sessionId: string, keys: string[] = [], options?: CallOptions): Promise<JsonObject> {
    const response = await this.#rpc.unary(
      this.#rpc.raw.sessions.getSessionState.bind(this.#rpc.raw.sessions), { sessionId, keys }, options);
    return response.entries as JsonObject;
  }

  /**
   * Sets, creates and deletes state keys and appends client events in one atomic write: all or
   * nothing, one `state.changed` event first when state changed.
   */
  async applyChanges(sessionId: string, changes: SessionChangeSet, options: ApplyOptions = {}): Promise<AppliedChanges> {
    if (changes.entries) checkJsonObject(changes.entries, "entries");
    if (changes.createEntries) checkJsonObject(changes.createEntries, "createEntries");
    const events = (changes.events ?? []).map((event, index) => {
      if (event.payload) checkJsonObject(event.payload, `events[${index}].payload`);
      return { payload: undefined, correlationId: "", causationId: "", ...event };
    });
    const request = {
      sessionId, entries: changes.entries ?? {}, createEntries: changes.createEntries ?? {},
      deleteKeys: changes.deleteKeys ?? [], events, expectedLastSeq: options.expectedLastSeq,
      etag: options.etag ?? "", requestId: options.requestId ?? "",
    };
    const response = await this.#rpc.unary(this.#rpc.raw.sessions.applyChanges.bind(this.#rpc.raw.sessions), request, options);
    return { session: response.session ?? Session.fromPartial({}), events: response.events };
  }

  /**
   * Reads what a framework needs in one call: the record, exact state keys, one page of keys under a
   * prefix (`entries`, `nextPageToken`), the last events and the latest artifacts by name.
   */
  readSession(sessionId: string, query: ReadSessionQuery = {}, options?: CallOptions): Promise<ReadSessionResponse> {
    const request = ReadSessionRequest.fromPartial({ ...query, sessionId });
    return this.#rpc.unary(this.#rpc.raw.sessions.readSession.bind(this.#rpc.raw.sessions), request, options);
  }

  /** Lets another subject of the tenant read (or read and write) the session; admins only. */
  grantSessionAccess(sessionId: string, subject: string, access: SessionAccess, options?: CallOptions): Promise<Session> {
    const request = { sessionId, subject, access };
    return this.#rpc.unary(this.#rpc.raw.sessions.grantSessionAccess.bind(this.#rpc.raw.sessions), request, options);
  }

  /** Writes the sessions with their whole history and content as one archive file into `sink`. */
  exportSessions(sessionIds: string[], sink: DownloadSink, options?: CallOptions): Promise<void> {
    return exportSessions(this.#rpc, sessionIds, sink, options);
  }

  /**
   * Completes, fails, archives or deletes one page of the sessions `input.filter` selects (oldest
   * first), each through the single call's rules; refused ones come back in `skipped` with the reason.
   * Send `nextPageToken` back as `pageToken` to go on; with `dryRun` nothing changes.
   */
  bulkSessionAction(input: BulkSessionActionInput, options?: CallOptions): Promise<BulkSessionActionResponse> {
    const request = BulkSessionActionRequest.fromPartial(input);
    return this.#rpc.unary(this.#rpc.raw.sessions.bulkSessionAction.bind(this.#rpc.raw.sessions), request, options);
  }

  /** Imports an archive from {@link exportSessions}: verified whole first, then written at once (ids kept). */
  importSessions(source: UploadSource, options?: CallOptions): Promise<ImportSessionsResponse> {
    return importSessions(this.#rpc, source, options);
  }

  /** Operators only: a point-in-time copy of the embedded store, file by file, to `onPart`. */
  backupStore(onPart: (part: BackupStorePart) => void | Promise<void>, knownFiles?: BackupFile[], options?: CallOptions): Promise<void> {
    return backupStore(this.#rpc, onPart, knownFiles, options);
  }

  /** Takes a grant back; admins only. */
  revokeSessionAccess(sessionId: string, subject: string, options?: CallOptions): Promise<Session> {
    return this.#rpc.unary(this.#rpc.raw.sessions.revokeSessionAccess.bind(this.#rpc.raw.sessions), { sessionId, subject }, options);
  }
}
