// Secure by default: TLS for non-loopback targets, no bearer token over plaintext unless allowed, and
// a live TLS connection to the real server with a self-signed certificate made for the test.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { connect, InsecureTokenError, resolveConnection, SessionsError } from "../src/index.js";
import { SKIP_LIVE, startServer } from "./live.js";

const secure = (target: string, options = {}) => resolveConnection({ target, ...options }).credentials._isSecure();

test("TLS is the default for non-loopback targets and plaintext only for loopback or on request", () => {
  assert.equal(secure("sessions.example:443"), true);
  assert.equal(secure("10.1.2.3:50051"), true);
  assert.equal(secure("127.0.0.1:50051"), false);
  assert.equal(secure("localhost:50051"), false);
  assert.equal(secure("10.1.2.3:50051", { tls: false }), false);
  assert.equal(secure("127.0.0.1:50051", { tls: true }), true);
});

test("a token over plaintext is refused unless the target is loopback or the caller opts in", () => {
  assert.throws(() => resolveConnection({ target: "10.1.2.3:50051", tls: false, token: "t" }), InsecureTokenError);
  assert.throws(() => connect({ target: "db.internal:1", tls: false, token: "t" }), /refusing to send a bearer token/);
  assert.doesNotThrow(() => resolveConnection({ target: "127.0.0.1:1", tls: false, token: "t" }));
  assert.doesNotThrow(() => resolveConnection({ target: "[::1]:1", token: "t" }));
  assert.doesNotThrow(() => resolveConnection({ target: "10.1.2.3:1", tls: false, token: "t", allowTokenOverPlaintext: true }));
  assert.doesNotThrow(() => resolveConnection({ target: "10.1.2.3:1", token: "t" })); // TLS by default
  assert.doesNotThrow(() => resolveConnection({ target: "10.1.2.3:1", tls: false })); // no token to leak
});

test("a per-call token obeys the same rule, before anything is sent", async () => {
  const client = connect({ target: "10.255.255.1:1", tls: false, timeoutMs: 2_000 });
  try {
    await assert.rejects(client.sessions.getSession("x", { token: "t" }), InsecureTokenError);
    await assert.rejects(client.artifacts.uploadChunks([], { token: "t" }), InsecureTokenError);
    await assert.rejects(client.artifacts.readArtifact("a", { token: "t" }), InsecureTokenError);
    assert.throws(() => client.replay.replaySession({ sessionId: "s" }, { token: "t" }), InsecureTokenError);
  } finally {
    client.close();
  }
});

test("live: TLS with a self-signed certificate; a plaintext client cannot talk to it", { skip: SKIP_LIVE }, async () => {
  const server = await startServer({
    setup: async (dir) => {
      const cert = join(dir, "cert.pem");
      const key = join(dir, "key.pem");
      execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        "-keyout", key, "-out", cert], { stdio: "ignore" });
      return ["--tls-cert", cert, "--tls-key", key];
    },
  });
  try {
    const ca = await readFile(join(server.dir, "cert.pem"));
    const client = connect({ target: server.target, tls: { ca }, timeoutMs: 10_000 });
    try {
      const session = await client.sessions.createSession({ name: "over-tls" });
      assert.equal((await client.sessions.getSession(session.sessionId)).name, "over-tls");
    } finally {
      client.close();
    }
    const plaintext = connect({ target: server.target, timeoutMs: 3_000 });
    try {
      await assert.rejects(plaintext.sessions.createSession({ name: "x" }), (e: unknown) => e instanceof SessionsError && e.codeName === "UNAVAILABLE");
    } finally {
      plaintext.close();
    }
    const untrusted = connect({ target: server.target, tls: true, timeoutMs: 3_000 });
    try {
      await assert.rejects(untrusted.sessions.createSession({ name: "x" }), (e: unknown) => e instanceof SessionsError && e.codeName === "UNAVAILABLE");
    } finally {
      untrusted.close();
    }
  } finally {
    await server.stop();
  }
});
