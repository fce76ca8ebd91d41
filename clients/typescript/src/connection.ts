/**
 * Connection settings: the target, the bearer token and transport security.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { credentials, type ChannelCredentials, type ChannelOptions } from "@grpc/grpc-js";

/** The address used when neither `target` nor `LLMSPELL_SESSION_ADDRESS` is set. */
export const DEFAULT_TARGET = "127.0.0.1:50051";

/** TLS settings. Buffers are PEM contents; strings are paths of PEM files. */
export interface TlsOptions {
  /** CA certificates to trust instead of the system roots. */
  ca?: Uint8Array | string;
  /** Client certificate for mutual TLS (with `key`). */
  cert?: Uint8Array | string;
  /** Client private key for mutual TLS (with `cert`). */
  key?: Uint8Array | string;
  /** Overrides the name checked against the server certificate (tests with self-signed certificates). */
  serverNameOverride?: string;
}

/** Options of {@link connect}. */
export interface ConnectOptions {
  /** `host:port` of the server; default `$LLMSPELL_SESSION_ADDRESS` or {@link DEFAULT_TARGET}. */
  target?: string;
  /** Bearer token sent as `authorization: Bearer <token>`; default `$LLMSPELL_SESSION_TOKEN`. */
  token?: string;
  /**
   * Transport security: `true` for TLS with the system roots, an object for custom CAs or mutual TLS,
   * `false` for plaintext. Default: plaintext for loopback targets, TLS for any other.
   */
  tls?: boolean | TlsOptions;
  /**
   * Allows sending `token` over plaintext to a non-loopback target. Without it, {@link connect} refuses
   * that combination, since anyone on the path could read the token.
   */
  allowTokenOverPlaintext?: boolean;
  /** Default deadline of unary calls, in milliseconds (none by default). */
  timeoutMs?: number;
  /** Extra grpc-js channel options; they override the defaults below. */
  channelOptions?: ChannelOptions;
}

/** Settings resolved from {@link ConnectOptions} and the environment. */
export interface ResolvedConnection {
  target: string;
  token?: string;
  /** False when a token would travel in plaintext to a non-loopback target (and that was not allowed). */
  tokenAllowed: boolean;
  credentials: ChannelCredentials;
  channelOptions: ChannelOptions;
  timeoutMs?: number;
}

const DEFAULT_CHANNEL_OPTIONS: ChannelOptions = {
  // Downloads arrive in messages up to the server's max_message_size; do not cap them at 4 MiB.
  "grpc.max_receive_message_length": 64 * 1024 * 1024,
  "grpc.max_send_message_length": 64 * 1024 * 1024,
  "grpc.keepalive_time_ms": 60_000,
};

/**
 * Thrown by {@link connect} when a bearer token would travel in plaintext to a non-loopback target
 * (use TLS, or set `allowTokenOverPlaintext` when the network is trusted).
 */
export class InsecureTokenError extends Error {
  constructor(target: string) {
    super(`refusing to send a bearer token over plaintext to ${target}: use TLS or set allowTokenOverPlaintext`);
    this.name = "InsecureTokenError";
  }
}

/**
 * Applies the defaults and the security rule: target and token from the environment; TLS unless the
 * target is loopback or `tls: false`; no token over plaintext to a non-loopback target unless allowed.
 */
export function resolveConnection(options: ConnectOptions = {}): ResolvedConnection {
  const target = options.target || process.env.LLMSPELL_SESSION_ADDRESS || DEFAULT_TARGET;
  const token = options.token ?? (process.env.LLMSPELL_SESSION_TOKEN || undefined);
  const loopback = isLoopback(target);
  const tls = options.tls ?? !loopback;
  const tokenAllowed = tls !== false || loopback || options.allowTokenOverPlaintext === true;
  if (token && !tokenAllowed) throw new InsecureTokenError(target);
  const channelOptions = { ...DEFAULT_CHANNEL_OPTIONS, ...options.channelOptions };
  if (typeof tls === "object" && tls.serverNameOverride) {
    channelOptions["grpc.ssl_target_name_override"] = tls.serverNameOverride;
  }
  return { target, token, tokenAllowed, credentials: channelCredentials(tls), channelOptions, timeoutMs: options.timeoutMs };
}

function channelCredentials(tls: boolean | TlsOptions): ChannelCredentials {
  if (tls === false) return credentials.createInsecure();
  if (tls === true) return credentials.createSsl();
  return credentials.createSsl(pem(tls.ca), pem(tls.key), pem(tls.cert));
}

function pem(source: Uint8Array | string | undefined): Buffer | null {
  if (source === undefined) return null;
  return typeof source === "string" ? readFileSync(source) : Buffer.from(source);
}

/** True for `localhost`, `127.0.0.0/8` and `::1` targets (with or without a port or `dns:` scheme). */
export function isLoopback(target: string): boolean {
  const host = hostOf(target).toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

function hostOf(target: string): string {
  const bare = target.replace(/^(dns|ipv4|ipv6):(\/\/[^/]*\/)?/, "");
  if (bare.startsWith("[")) return bare.slice(1, bare.indexOf("]"));
  if (isIP(bare) === 6) return bare;
  const colon = bare.lastIndexOf(":");
  return colon === -1 ? bare : bare.slice(0, colon);
}
