/**
 * The generated protobuf messages and grpc-js service definitions (`@llmspell/sessions/proto`), for
 * code that needs the wire types directly, e.g. an in-process test server.
 *
 * @packageDocumentation
 */
export * from "./gen/llmspell/sessions/v1/common.js";
export * from "./gen/llmspell/sessions/v1/session.js";
export * from "./gen/llmspell/sessions/v1/artifact.js";
export * from "./gen/llmspell/sessions/v1/replay.js";
export { protobufPackage, protobufFileName, type DeepPartial, type Exact, type MessageFns } from "./gen/llmspell/sessions/v1/common.js";
