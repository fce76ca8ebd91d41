// Test helpers: google.rpc.Status encoding (the server side of the trailer) and an in-process server.
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { Metadata, Server, ServerCredentials, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { connect, type SessionsClient } from "../src/index.js";

/** Encodes a google.rpc.Status with an ErrorInfo (and optionally a RetryInfo), as a server does. */
export function encodeStatus(code: number, message: string, reason: string, metadata: Record<string, string>,
  retrySeconds?: number): Uint8Array {
  const withMeta = new BinaryWriter().uint32(10).string(reason).uint32(18).string("llmspell.sessions");
  for (const [key, value] of Object.entries(metadata)) {
    withMeta.uint32(26).fork().uint32(10).string(key).uint32(18).string(value).join();
  }
  const status = new BinaryWriter().uint32(8).int32(code).uint32(18).string(message);
  status.uint32(26).fork().uint32(10).string("type.googleapis.com/google.rpc.ErrorInfo")
    .uint32(18).bytes(withMeta.finish()).join();
  if (retrySeconds !== undefined) {
    const retry = new BinaryWriter().uint32(10).fork().uint32(8).int64(retrySeconds).uint32(16).int32(500_000_000).join();
    status.uint32(26).fork().uint32(10).string("type.googleapis.com/google.rpc.RetryInfo")
      .uint32(18).bytes(retry.finish()).join();
  }
  return status.finish();
}

/** A grpc-js error object carrying a status-details trailer, as a handler passes to its callback. */
export function serverError(code: number, message: string, reason: string, metadata: Record<string, string> = {}) {
  const trailer = new Metadata();
  trailer.set("grpc-status-details-bin", Buffer.from(encodeStatus(code, message, reason, metadata)));
  return { code, details: message, metadata: trailer };
}

/** Starts an in-process server on a loopback port with the given services; returns a connected client. */
export async function startServer(
  services: Array<[object, UntypedServiceImplementation]>, token?: string,
): Promise<{ client: SessionsClient; stop: () => Promise<void> }> {
  const server = new Server();
  for (const [definition, impl] of services) server.addService(definition as never, impl);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  const client = connect({ target: `127.0.0.1:${port}`, token });
  const stop = () => {
    client.close();
    return new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  };
  return { client, stop };
}
