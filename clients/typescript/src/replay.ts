/**
 * ReplayService calls: the event log, live subscriptions, checkpoints, snapshots, controlled replay,
 * fork and rewind.
 *
 * @module
 */
import type { ClientDuplexStream } from "@grpc/grpc-js";
import type { Checkpoint, Event, Session } from "./gen/llmspell/sessions/v1/common.js";
import {
  ReplayStart,
  type CompareSnapshotsResponse,
  type GetSnapshotResponse,
  type ListCheckpointsResponse,
  type ListEventsResponse,
  type ReplayControl,
  type ReplayFrame,
} from "./gen/llmspell/sessions/v1/replay.js";
import { SessionsError } from "./errors.js";
import { checkJsonObject, type JsonObject } from "./json.js";
import { cancelOnAbort, type CallOptions, type Rpc } from "./rpc.js";
import type { EtagOptions } from "./sessions.js";

/** A client event to append. `type` must not start with a reserved prefix (`session.`, `state.`, …). */
export interface NewEventInput {
  type: string;
  payload?: JsonObject;
  correlationId?: string;
  causationId?: string;
}

/** Options of {@link ReplayCalls.appendEvents}. */
export interface AppendOptions extends CallOptions {
  /** Fails with ABORTED / SEQ_MISMATCH unless the log's last seq is exactly this. */
  expectedLastSeq?: number;
}

/** Which events to read: those after `afterSeq`, whose type starts with any of `types`. */
export interface EventQuery {
  afterSeq?: number;
  types?: string[];
  pageSize?: number;
  pageToken?: string;
}

/** Options of {@link ReplayCalls.subscribeEvents}; aborting `signal` ends the iteration. */
export interface SubscribeOptions extends CallOptions {
  afterSeq?: number;
  types?: string[];
}

/** A point in a session's history: after event `seq`, or a checkpoint. */
export type HistoryPoint = { seq: number } | { checkpointId: string };

/** The first control of a replay (see `ReplayStart` in replay.proto). */
export type ReplayStartInput = Partial<ReplayStart> & { sessionId: string };

/** ReplayService calls: `client.replay`. */
export class ReplayCalls {
  readonly #rpc: Rpc;

  /** A group of calls over `rpc`; {@link SessionsClient} builds one of each. */
  constructor(rpc: Rpc) {
    this.#rpc = rpc;
  }

  /** Appends client events atomically and returns them with their seqs. */
  async appendEvents(sessionId: string, events: NewEventInput[], options: AppendOptions = {}): Promise<Event[]> {
    const newEvents = events.map((event, index) => {
      if (event.payload) checkJsonObject(event.payload, `events[${index}].payload`);
      return { payload: undefined, correlationId: "", causationId: "", ...event };
    });
    const request = { sessionId, events: newEvents, expectedLastSeq: options.expectedLastSeq };
    const response = await this.#rpc.unary(this.#rpc.raw.replay.appendEvents.bind(this.#rpc.raw.replay), request, options);
    return response.events;
  }

  /** Reads one page of a session's events. */
  listEvents(sessionId: string, query: EventQuery = {}, options?: CallOptions): Promise<ListEventsResponse> {
    const request = { sessionId, afterSeq: 0, types: [], pageSize: 0, pageToken: "", ...query };
    return this.#rpc.unary(this.#rpc.raw.replay.listEvents.bind(this.#rpc.raw.replay), request, options);
  }

  /** Iterates over every matching event in seq order, fetching pages as needed. */
  async *iterateEvents(sessionId: string, query: Omit<EventQuery, "pageToken"> = {}, options?: CallOptions): AsyncGenerator<Event> {
    let pageToken = "";
    do {
      const page = await this.listEvents(sessionId, { ...query, pageToken }, options);
      yield* page.events;
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  /**
   * Streams the events after `afterSeq`, then live ones as they are appended, in order and without gaps.
   * Leaving the loop ends the subscription; an aborted `signal` makes the iteration throw a CANCELLED
   * {@link SessionsError}, like every other call; so does a server error.
   */
  async *subscribeEvents(sessionId: string, options: SubscribeOptions = {}): AsyncGenerator<Event> {
    const request = { sessionId, afterSeq: options.afterSeq ?? 0, types: options.types ?? [] };
    const call = this.#rpc.raw.replay.subscribeEvents(request, this.#rpc.metadata(options), this.#rpc.grpcOptions(options, true));
    const release = cancelOnAbort(call, options.signal);
    try {
      for await (const event of call as AsyncIterable<Event>) yield event;
    } catch (error) {
      throw SessionsError.from(error);
    } finally {
      release();
      call.cancel(); // the loop was left early: end the subscription
    }
  }

  /** Records a named point at the session's current seq. */
  createCheckpoint(sessionId: string, label = "", options?: CallOptions): Promise<Checkpoint> {
    return this.#rpc.unary(this.#rpc.raw.replay.createCheckpoint.bind(this.#rpc.raw.replay), { sessionId, label }, options);
  }

  /** Reads one page of a session's checkpoints. */
  listCheckpoints(
    sessionId: string, page: { pageSize?: number; pageToken?: string } = {}, options?: CallOptions,
  ): Promise<ListCheckpointsResponse> {
    const request = { sessionId, pageSize: page.pageSize ?? 0, pageToken: page.pageToken ?? "" };
    return this.#rpc.unary(this.#rpc.raw.replay.listCheckpoints.bind(this.#rpc.raw.replay), request, options);
  }

  /** The session, its state and artifacts exactly as they were at `point`. */
  getSnapshot(sessionId: string, point: HistoryPoint, options?: CallOptions): Promise<GetSnapshotResponse> {
    const request = { sessionId, ...pointFields(point, "atSeq") };
    return this.#rpc.unary(this.#rpc.raw.replay.getSnapshot.bind(this.#rpc.raw.replay), request, options);
  }

  /** What changed in state and artifacts between two points of a session's history. */
  compareSnapshots(
    sessionId: string, from: HistoryPoint, to: HistoryPoint, options?: CallOptions,
  ): Promise<CompareSnapshotsResponse> {
    const request = { sessionId, from: pointFields(from, "seq"), to: pointFields(to, "seq") };
    return this.#rpc.unary(this.#rpc.raw.replay.compareSnapshots.bind(this.#rpc.raw.replay), request, options);
  }

  /** A new ACTIVE child session with the state and artifacts as they were at `point`. */
  forkSession(sessionId: string, point: HistoryPoint, name = "", options?: CallOptions): Promise<Session> {
    const request = { sessionId, name, ...pointFields(point, "atSeq") };
    return this.#rpc.unary(this.#rpc.raw.replay.forkSession.bind(this.#rpc.raw.replay), request, options);
  }

  /** Restores state and artifacts to `point` in place (a `session.rewound` event; history stays). */
  rewindSession(sessionId: string, point: HistoryPoint, options: EtagOptions = {}): Promise<Session> {
    const request = { sessionId, etag: options.etag ?? "", ...pointFields(point, "toSeq") };
    return this.#rpc.unary(this.#rpc.raw.replay.rewindSession.bind(this.#rpc.raw.replay), request, options);
  }

  /**
   * Starts a controlled replay of a session's log; see {@link ReplayHandle}. Throws an
   * `InsecureTokenError` at once where other calls reject with it.
   */
  replaySession(start: ReplayStartInput, options: CallOptions = {}): ReplayHandle {
    const call = this.#rpc.raw.replay.replaySession(this.#rpc.metadata(options), this.#rpc.grpcOptions(options, true));
    const handle = new ReplayHandle(call, options.signal);
    handle.send({ start: ReplayStart.fromPartial(start) });
    return handle;
  }
}

/** A running replay: iterate it for frames, and steer it with the control methods. */
export class ReplayHandle implements AsyncIterable<ReplayFrame> {
  readonly #call: ClientDuplexStream<ReplayControl, ReplayFrame>;

  /** @internal */
  constructor(call: ClientDuplexStream<ReplayControl, ReplayFrame>, signal?: AbortSignal) {
    this.#call = call;
    const release = cancelOnAbort(call, signal);
    call.once("status", release); // the call ended, however: drop the abort listener
  }

  /** @internal */
  send(control: ReplayControl): void {
    this.#call.write(control);
  }

  /** Holds the replay after the current frame (a PAUSED frame follows). */
  pause(): void { this.send({ pause: {} }); }
  /** Continues a paused replay, or one held at a breakpoint. */
  resume(): void { this.send({ resume: {} }); }
  /** Replays the next event (REPLAY_MODE_STEP). */
  step(): void { this.send({ step: {} }); }
  /** Changes the speed of a timed replay (0.1–10). */
  setSpeed(speed: number): void { this.send({ setSpeed: { speed } }); }
  /** Holds the replay when it reaches this seq, or an event of this type. */
  addBreakpoint(breakpoint: { seq?: number; eventType?: string }): void {
    this.send({ addBreakpoint: { seq: breakpoint.seq ?? 0, eventType: breakpoint.eventType ?? "" } });
  }
  /** Stops the replay; the server sends a final STOPPED frame. */
  stop(): void {
    this.send({ stop: {} });
    this.#call.end();
  }
  /** Abandons the replay without waiting for the server; the iteration throws CANCELLED. */
  cancel(): void { this.#call.cancel(); }

  async *[Symbol.asyncIterator](): AsyncIterator<ReplayFrame> {
    try {
      for await (const frame of this.#call as AsyncIterable<ReplayFrame>) yield frame;
    } catch (error) {
      throw SessionsError.from(error); // CANCELLED after cancel() or an aborted signal
    } finally {
      this.#call.cancel();
    }
  }
}

type PointFields = { atSeq?: number; toSeq?: number; seq?: number; checkpointId?: string };

function pointFields(point: HistoryPoint, seqField: "atSeq" | "toSeq" | "seq"): PointFields {
  return "checkpointId" in point ? { checkpointId: point.checkpointId } : { [seqField]: point.seq };
}
