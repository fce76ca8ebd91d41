/**
 * The client: {@link connect} and {@link SessionsClient}.
 *
 * @module
 */
import { resolveConnection, type ConnectOptions } from "./connection.js";
import { ReplayCalls } from "./replay.js";

/**
 * A client of an llmspell-sessions server: every SessionService, ArtifactService and ReplayService
 * call as a promise-returning method, over one grpc-js channel. Create it with {@link connect} and
 * {@link SessionsClient.close | close} it when done.
 *
 * Methods are grouped by service in {@link SessionCalls}, {@link ArtifactCalls} and {@link ReplayCalls};
 * the generated grpc-js clients are available as {@link RpcBase.raw | raw}.
 */
export class SessionsClient extends ReplayCalls {}

/**
 * Opens a client. The channel connects lazily, on the first call.
 *
 * @example
 * ```ts
 * const client = connect({ target: "127.0.0.1:50051", token: process.env.TOKEN });
 * const session = await client.createSession({ name: "demo" });
 * client.close();
 * ```
 */
export function connect(options: ConnectOptions = {}): SessionsClient {
  return new SessionsClient(resolveConnection(options));
}
