// Every RPC of the three services in protos/ has a wrapper method on the client.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { connect } from "../src/index.js";
import { repoRoot } from "./live.js";

/** RPCs whose wrapper has a shorter name. */
const RENAMED: Record<string, string> = { SetSessionState: "setState", GetSessionState: "getState" };

const GROUP: Record<string, "sessions" | "artifacts" | "replay"> = {
  "session.proto": "sessions", "artifact.proto": "artifacts", "replay.proto": "replay",
};

test("every rpc in the protos has a wrapper method in its service's group", () => {
  const dir = join(repoRoot(), "protos/llmspell/sessions/v1");
  const rpcs = readdirSync(dir).filter((f) => f.endsWith(".proto")).flatMap((f) =>
    [...readFileSync(join(dir, f), "utf8").matchAll(/^\s*rpc\s+(\w+)\s*\(/gm)].map((m) => ({ group: GROUP[f]!, rpc: m[1]! })));
  assert.equal(rpcs.length, 44);
  const client = connect({ target: "127.0.0.1:1" });
  const missing = rpcs.filter(({ group, rpc }) => {
    const method = RENAMED[rpc] ?? rpc[0]!.toLowerCase() + rpc.slice(1);
    return typeof (client[group] as unknown as Record<string, unknown>)[method] !== "function";
  });
  client.close();
  assert.deepEqual(missing, []);
});
