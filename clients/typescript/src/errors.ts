/**
 * Typed errors: every failed call rejects with a {@link SessionsError} carrying the gRPC code and the
 * `google.rpc.ErrorInfo` decoded from the `grpc-status-details-bin` trailer.
 *
 * @module
 */
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { status as GrpcStatus, type Metadata, type ServiceError } from "@grpc/grpc-js";

/** The `ErrorInfo.domain` of every error raised by an llmspell-sessions server. */
export const ERROR_DOMAIN = "llmspell.sessions";
/** The trailer that carries a serialized `google.rpc.Status`. */
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

const ERROR_INFO_TYPE = "type.googleapis.com/google.rpc.ErrorInfo";
const RETRY_INFO_TYPE = "type.googleapis.com/google.rpc.RetryInfo";

/** The parts of a `google.rpc.Status` (and its `ErrorInfo` / `RetryInfo` details) a client acts on. */
export interface StatusDetails {
  /** The numeric gRPC code inside the status. */
  code: number;
  message: string;
  /** `ErrorInfo.reason`, e.g. `"SESSION_NOT_FOUND"`; empty when the status has no ErrorInfo. */
  reason: string;
  domain: string;
  /** `ErrorInfo.metadata`: names the resource involved (e.g. `{session_id: "…"}`). */
  metadata: Record<string, string>;
  /** `RetryInfo.retry_delay` in milliseconds, when the server sent one (rate limits). */
  retryDelayMs?: number;
}

/**
 * An error returned by the server (or by gRPC itself, e.g. UNAVAILABLE or CANCELLED).
 *
 * `code` is the numeric gRPC status (compare with {@link GrpcStatus}), `codeName` its name, and
 * `reason` / `metadata` come from the server's `ErrorInfo` (domain {@link ERROR_DOMAIN}).
 */
export class SessionsError extends Error {
  /** The gRPC status code, e.g. `GrpcStatus.NOT_FOUND` (5). */
  readonly code: GrpcStatus;
  /** The status code's name, e.g. `"NOT_FOUND"`. */
  readonly codeName: string;
  /** The `ErrorInfo.reason`, e.g. `"SESSION_NOT_FOUND"`; empty when the server sent none. */
  readonly reason: string;
  /** The `ErrorInfo.domain`; {@link ERROR_DOMAIN} for errors raised by the server. */
  readonly domain: string;
  /** The `ErrorInfo.metadata`, naming the resource involved. */
  readonly metadata: Readonly<Record<string, string>>;
  /** How long the server asked the client to wait before retrying, in milliseconds. */
  readonly retryDelayMs?: number;
  /** The server's message without the code prefix. */
  readonly details: string;

  constructor(code: GrpcStatus, details: string, info?: Partial<StatusDetails>, options?: { cause?: unknown }) {
    const codeName = GrpcStatus[code] ?? `CODE_${code}`;
    const reason = info?.reason ?? "";
    super(`${codeName}${reason ? `/${reason}` : ""}: ${details}`, options);
    this.name = "SessionsError";
    this.code = code;
    this.codeName = codeName;
    this.reason = reason;
    this.domain = info?.domain ?? "";
    this.metadata = Object.freeze({ ...(info?.metadata ?? {}) });
    this.retryDelayMs = info?.retryDelayMs;
    this.details = details;
  }

  /** Converts a grpc-js `ServiceError` (or anything thrown by a call) into a SessionsError. */
  static from(error: unknown): SessionsError {
    if (error instanceof SessionsError) return error;
    if (!isServiceError(error)) {
      const message = error instanceof Error ? error.message : String(error);
      return new SessionsError(GrpcStatus.UNKNOWN, message, undefined, { cause: error });
    }
    const info = statusDetailsFromMetadata(error.metadata);
    return new SessionsError(error.code, info?.message || error.details || error.message, info, { cause: error });
  }
}

/**
 * Downloaded bytes that do not match the artifact's size or BLAKE3 digest (or the digest the caller
 * expected): code DATA_LOSS, reason `INTEGRITY_ERROR`, as the server reports stored bytes that fail
 * their digest. `metadata` names the artifact and both digests or sizes.
 */
export class IntegrityError extends SessionsError {
  constructor(details: string, metadata: Record<string, string>) {
    super(GrpcStatus.DATA_LOSS, details, { reason: "INTEGRITY_ERROR", domain: ERROR_DOMAIN, metadata });
    this.name = "IntegrityError";
  }
}

function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number";
}

/** Reads and decodes the `grpc-status-details-bin` trailer, if the metadata carries one. */
export function statusDetailsFromMetadata(metadata: Metadata | undefined): StatusDetails | undefined {
  const raw = metadata?.get(STATUS_DETAILS_KEY)?.[0];
  if (raw === undefined || typeof raw === "string") return undefined;
  try {
    return decodeStatusDetails(raw);
  } catch {
    return undefined; // a malformed trailer must not hide the status code itself
  }
}

/** Decodes a serialized `google.rpc.Status`, extracting its ErrorInfo and RetryInfo details. */
export function decodeStatusDetails(bytes: Uint8Array): StatusDetails {
  const result: StatusDetails = { code: 0, message: "", reason: "", domain: "", metadata: {} };
  readFields(bytes, (field, reader) => {
    if (field === 1) result.code = reader.int32();
    else if (field === 2) result.message = reader.string();
    else if (field === 3) applyDetail(result, reader.bytes());
    else return false;
    return true;
  });
  return result;
}

function applyDetail(result: StatusDetails, anyBytes: Uint8Array): void {
  let typeUrl = "";
  let value: Uint8Array = new Uint8Array();
  readFields(anyBytes, (field, reader) => {
    if (field === 1) typeUrl = reader.string();
    else if (field === 2) value = reader.bytes();
    else return false;
    return true;
  });
  if (typeUrl === ERROR_INFO_TYPE) readErrorInfo(result, value);
  else if (typeUrl === RETRY_INFO_TYPE) result.retryDelayMs = readRetryDelayMs(value);
}

function readErrorInfo(result: StatusDetails, bytes: Uint8Array): void {
  readFields(bytes, (field, reader) => {
    if (field === 1) result.reason = reader.string();
    else if (field === 2) result.domain = reader.string();
    else if (field === 3) readMapEntry(result.metadata, reader.bytes());
    else return false;
    return true;
  });
}

function readMapEntry(target: Record<string, string>, bytes: Uint8Array): void {
  let key = "";
  let value = "";
  readFields(bytes, (field, reader) => {
    if (field === 1) key = reader.string();
    else if (field === 2) value = reader.string();
    else return false;
    return true;
  });
  target[key] = value;
}

function readRetryDelayMs(bytes: Uint8Array): number {
  let ms = 0;
  readFields(bytes, (field, reader) => {
    if (field !== 1) return false;
    readFields(reader.bytes(), (f, r) => {
      if (f === 1) ms += Number(r.int64()) * 1000;
      else if (f === 2) ms += r.int32() / 1e6;
      else return false;
      return true;
    });
    return true;
  });
  return ms;
}

/** Walks the fields of one message; `read` consumes a known field and returns false for unknown ones. */
function readFields(bytes: Uint8Array, read: (field: number, reader: BinaryReader) => boolean): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (!read(field, reader)) reader.skip(wireType);
  }
}

export { GrpcStatus };
