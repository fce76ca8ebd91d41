/**
 * The core of the client ({@link Rpc}): one channel shared by the three generated service clients, per-call metadata
 * (bearer token, correlation id), deadlines, cancellation and error conversion.
 *
 * @module
 */
import {
  Metadata,
  type CallOptions as GrpcCallOptions,
  type ClientUnaryCall,
  type ServiceError,
} from "@grpc/grpc-js";
import { ArtifactServiceClient } from "./gen/llmspell/sessions/v1/artifact.js";
import { ReplayServiceClient } from "./gen/llmspell/sessions/v1/replay.js";
import { SessionServiceClient } from "./gen/llmspell/sessions/v1/session.js";
import { InsecureTokenError, type ResolvedConnection } from "./connection.js";
import { GrpcStatus, SessionsError } from "./errors.js";

/** Per-call options accepted by every method. */
export interface CallOptions {
  /** Cancels the call; the promise rejects with a CANCELLED {@link SessionsError}. */
  signal?: AbortSignal;
  /** Deadline in milliseconds from now; overrides the connection's `timeoutMs`. */
  timeoutMs?: number;
  /** Sent as `x-correlation-id`; the server stamps it on every event the call appends. */
  correlationId?: string;
  /**
   * The bearer token of this call instead of the connection's (one channel, several callers); `""`
   * sends none. Subject to the same plaintext rule as the connection's token.
   */
  token?: string;
}

/** The generated grpc-js clients, for RPCs the wrapper does not cover. They share one channel. */
export interface RawClients {
  sessions: SessionServiceClient;
  artifacts: ArtifactServiceClient;
  replay: ReplayServiceClient;
}

/** Something that can be cancelled: every grpc-js call object. */
interface Cancellable {
  cancel(): void;
}

type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: Partial<GrpcCallOptions>,
  callback: (error: ServiceError | null, response: Res) => void,
) => ClientUnaryCall;

/**
 * The core every call group shares: one channel for the three generated clients, per-call metadata
 * (bearer token, correlation id), deadlines, cancellation and error conversion.
 */
export class Rpc {
  /** The generated clients, sharing this client's channel and credentials. */
  readonly raw: RawClients;
  /** The `host:port` this client talks to. */
  readonly target: string;
  readonly #token?: string;
  readonly #tokenAllowed: boolean;
  readonly #timeoutMs?: number;

  constructor(connection: ResolvedConnection) {
    const { target, credentials, channelOptions } = connection;
    const sessions = new SessionServiceClient(target, credentials, channelOptions);
    const shared = { ...channelOptions, channelOverride: sessions.getChannel() };
    this.raw = {
      sessions,
      artifacts: new ArtifactServiceClient(target, credentials, shared),
      replay: new ReplayServiceClient(target, credentials, shared),
    };
    this.target = target;
    this.#token = connection.token;
    this.#tokenAllowed = connection.tokenAllowed;
    this.#timeoutMs = connection.timeoutMs;
  }

  /** Closes the channel; calls in flight are cancelled. */
  close(): void {
    this.raw.sessions.close();
  }

  /** Waits until the channel is connected (or the deadline passes). */
  waitForReady(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      this.raw.sessions.waitForReady(Date.now() + timeoutMs, (error) =>
        error ? reject(new SessionsError(GrpcStatus.UNAVAILABLE, error.message, undefined, { cause: error })) : resolve(),
      );
    });
  }

  /** The request metadata of one call: the bearer token and the correlation id. */
  metadata(options?: CallOptions): Metadata {
    const metadata = new Metadata();
    const token = options?.token ?? this.#token;
    if (token && !this.#tokenAllowed) throw new InsecureTokenError(this.target);
    if (token) metadata.set("authorization", `Bearer ${token}`);
    if (options?.correlationId) metadata.set("x-correlation-id", options.correlationId);
    return metadata;
  }

  /** grpc-js call options: the deadline. `stream` calls get no default deadline. */
  grpcOptions(options?: CallOptions, stream = false): Partial<GrpcCallOptions> {
    const timeoutMs = options?.timeoutMs ?? (stream ? undefined : this.#timeoutMs);
    return timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
  }

  /** Runs one unary call as a promise; failures reject with a {@link SessionsError}. */
  unary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, options?: CallOptions): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const call = method(request, this.metadata(options), this.grpcOptions(options), (error, response) => {
        release();
        if (error) reject(SessionsError.from(error));
        else resolve(response);
      });
      const release = cancelOnAbort(call, options?.signal);
    });
  }
}

/** Cancels `call` when `signal` aborts; returns the function that detaches the listener. */
export function cancelOnAbort(call: Cancellable, signal: AbortSignal | undefined): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    call.cancel();
    return () => {};
  }
  const onAbort = () => call.cancel();
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}
