/**
 * `@llmspell/sessions`: a TypeScript client for the llmspell-sessions gRPC server.
 *
 * @packageDocumentation
 */
export { connect, SessionsClient } from "./client.js";
export { DEFAULT_TARGET, InsecureTokenError, isLoopback, resolveConnection, type ConnectOptions, type TlsOptions } from "./connection.js";
export { Rpc, type CallOptions, type RawClients } from "./rpc.js";
export {
  SessionCalls, type AppliedChanges, type ApplyOptions, type CreateSessionInput, type ReadSessionQuery, type SessionChangeSet, type EtagOptions, type ListSessionsQuery, type LoadedSession,
  type SessionChanges, type SetStateOptions,
} from "./sessions.js";
export {
  ArtifactCalls, type ChunkedUpload, type UploadFileOptions, type ArtifactContent, type ArtifactRef, type DownloadOptions, type ListArtifactsQuery,
  type UploadHeaderInput, type UploadOptions,
} from "./artifacts.js";
export {
  ReplayCalls, ReplayHandle, type AppendOptions, type EventQuery, type HistoryPoint, type NewEventInput,
  type ReplayStartInput, type SubscribeOptions,
} from "./replay.js";
export { rechunk, UPLOAD_MESSAGE_SIZE, type DownloadSink, type UploadSource } from "./streams.js";
export {
  decodeStatusDetails, ERROR_DOMAIN, GrpcStatus, IntegrityError, SessionsError, statusDetailsFromMetadata, STATUS_DETAILS_KEY,
  type StatusDetails,
} from "./errors.js";
export { blake3Hex, DigestCounter } from "./digest.js";
export { chunkCuts, chunkParams, GEAR_TABLE_ID, StreamChunker, type ChunkParams } from "./chunker.js";
export { DEDUP_MIN_BYTES, planChunks, serverChunking, type ChunkPlan, type ChunkSource, type PlannedChunk } from "./dedup.js";
export { checkJson, checkJsonObject, type JsonObject, type JsonValue } from "./json.js";
export {
  ArtifactType, SessionAccess, SessionState, artifactTypeFromJSON, artifactTypeToJSON, sessionStateFromJSON, sessionStateToJSON,
  type Artifact, type Checkpoint, type Event, type Session,
} from "./gen/llmspell/sessions/v1/common.js";
export { ReplayMode, ReplayStatus, type ReplayFrame } from "./gen/llmspell/sessions/v1/replay.js";
export {
  BulkAction, type BulkSessionActionResponse, type BulkSkippedSession,
} from "./gen/llmspell/sessions/v1/session.js";
