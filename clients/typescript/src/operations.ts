/**
 * Store operations of SessionService: portable session archives (ExportSessions, ImportSessions) and
 * backups of the embedded store (BackupStore). Archives are opaque files here (docs/archive-format.md).
 *
 * @module
 */
import type { ClientReadableStream } from "@grpc/grpc-js";
import type { ArchivePart, BackupFile, BackupStorePart, ImportSessionsResponse } from "./gen/llmspell/sessions/v1/session.js";
import { SessionsError } from "./errors.js";
import { cancelOnAbort, type CallOptions, type Rpc } from "./rpc.js";
import { asBuffer, deliver, isLocal, rechunk, writeClientStream, type DownloadSink, type UploadSource } from "./streams.js";

/** Writes the sessions (record, state, whole history, checkpoints, artifacts and their bytes) as one archive into `sink`. */
export async function exportSessions(rpc: Rpc, sessionIds: string[], sink: DownloadSink, options: CallOptions = {}): Promise<void> {
  const call = rpc.raw.sessions.exportSessions({ sessionIds }, rpc.metadata(options), rpc.grpcOptions(options, true));
  await drain(call, options, (part: ArchivePart) => deliver(sink, part.data));
}

/** Imports an archive written by {@link exportSessions} into the caller's tenant. */
export function importSessions(rpc: Rpc, source: UploadSource, options: CallOptions = {}): Promise<ImportSessionsResponse> {
  const open = rpc.raw.sessions.importSessions.bind(rpc.raw.sessions);
  return writeClientStream(open, parts(source), rpc.metadata(options), rpc.grpcOptions(options, true), options.signal);
}

/**
 * Operators only: the embedded store's files as BackupStore streams them — a `file` (then its `data`
 * parts) or a `reused` one from `knownFiles` (an earlier backup's paths and sizes) — to `onPart`.
 */
export async function backupStore(
  rpc: Rpc, onPart: (part: BackupStorePart) => void | Promise<void>, knownFiles: BackupFile[] = [], options: CallOptions = {},
): Promise<void> {
  const call = rpc.raw.sessions.backupStore({ knownFiles }, rpc.metadata(options), rpc.grpcOptions(options, true));
  await drain(call, options, onPart);
}

async function drain<T>(call: ClientReadableStream<T>, options: CallOptions, each: (item: T) => void | Promise<void>): Promise<void> {
  const release = cancelOnAbort(call, options.signal);
  try {
    for await (const item of call as AsyncIterable<T>) await each(item);
  } catch (error) {
    throw isLocal(error) ? error : SessionsError.from(error);
  } finally {
    release();
    call.cancel(); // a no-op once the stream completed; stops it when the sink failed
  }
}

async function* parts(source: UploadSource): AsyncGenerator<ArchivePart> {
  for await (const data of rechunk(source)) yield { data: asBuffer(data) };
}
