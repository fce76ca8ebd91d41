/**
 * The client: {@link connect} and {@link SessionsClient}.
 *
 * @module
 */
import { ArtifactCalls } from "./artifacts.js";
import { resolveConnection, type ConnectOptions, type ResolvedConnection } from "./connection.js";
import { ReplayCalls } from "./replay.js";
import { Rpc, type RawClients } from "./rpc.js";
import { SessionCalls } from "./sessions.js";

/**
 * A client of an llmspell-sessions server, built by composition: one {@link Rpc} core (the channel,
 * metadata, deadlines, cancellation, errors) shared by three groups of promise-returning calls,
 * {@link SessionsClient.sessions | sessions}, {@link SessionsClient.artifacts | artifacts} and
 * {@link SessionsClient.replay | replay}, named after the RPCs of each service. Create it with
 * {@link connect} and {@link SessionsClient.close | close} it when done.
 */
export class SessionsClient {
  /** The shared core; its `raw` generated clients serve RPCs in ways the groups do not. */
  readonly rpc: Rpc;
  /** SessionService: lifecycle, listing, state, ApplyChanges/ReadSession, grants. */
  readonly sessions: SessionCalls;
  /** ArtifactService: uploads (streamed, deduplicated, resumable), verified downloads, chunks, stats. */
  readonly artifacts: ArtifactCalls;
  /** ReplayService: events, subscriptions, checkpoints, snapshots, replay, fork and rewind. */
  readonly replay: ReplayCalls;

  constructor(connection: ResolvedConnection) {
    this.rpc = new Rpc(connection);
    this.sessions = new SessionCalls(this.rpc);
    this.artifacts = new ArtifactCalls(this.rpc);
    this.replay = new ReplayCalls(this.rpc);
  }

  /** The `host:port` this client talks to. */
  get target(): string {
    return this.rpc.target;
  }

  /** The generated grpc-js clients, sharing this client's channel and credentials. */
  get raw(): RawClients {
    return this.rpc.raw;
  }

  /** Waits until the channel is connected (or the deadline passes). */
  waitForReady(timeoutMs?: number): Promise<void> {
    return this.rpc.waitForReady(timeoutMs);
  }

  /** Closes the channel; calls in flight are cancelled. */
  close(): void {
    this.rpc.close();
  }
}

/**
 * Opens a client. The channel connects lazily, on the first call.
 *
 * @example
 * ```ts
 * const client = connect({ target: "127.0.0.1:50051", token: process.env.TOKEN });
 * const session = await client.sessions.createSession({ name: "demo" });
 * client.close();
 * ```
 */
export function connect(options: ConnectOptions = {}): SessionsClient {
  return new SessionsClient(resolveConnection(options));
}
