#!/usr/bin/env node
/**
 * The TypeScript interop driver (see tests/interop/README.md):
 *
 *     node interop/dist/main.js --target HOST:PORT --scenarios tests/interop/scenarios.json --lang ts \
 *          --out RESULTS.json [--verify SHARED.json ...]
 *
 * Prints `ok NAME` / `FAIL NAME: why` per scenario, then `interop: N passed, M failed`; exits 1 if any
 * failed, 2 on a usage error.
 *
 * @module
 */
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { connect, type SessionsClient } from "@llmspell/sessions";
import { ScenarioRunner, verifyShared, type Scenario, type SharedArtifact } from "./runner.js";

const USAGE = "usage: interop --target HOST:PORT --scenarios FILE --lang LANG [--out FILE] [--verify FILE ...] [--timeout SECONDS]";

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: "string" },
      scenarios: { type: "string", default: "tests/interop/scenarios.json" },
      lang: { type: "string", default: "ts" },
      out: { type: "string" },
      verify: { type: "string", multiple: true, default: [] },
      timeout: { type: "string", default: "60" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const scenarios = JSON.parse(await readFile(values.scenarios!, "utf8")).scenarios as Scenario[];
  const client = connect({ target: values.target, timeoutMs: Number(values.timeout) * 1000 });
  try {
    return await runAll(client, scenarios, values.lang!, values.verify ?? [], values.out);
  } finally {
    client.close();
  }
}

async function runAll(
  client: SessionsClient, scenarios: Scenario[], lang: string, verify: string[], out: string | undefined,
): Promise<number> {
  const results: Record<string, string> = {}; // "ok" or why it failed, as tests/interop/driver.py writes

  let passed = 0;
  let failed = 0;
  const report = async (name: string, body: () => Promise<void>) => {
    try {
      await body();
      results[name] = "ok";
      passed++;
      console.log(`ok ${name}`);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      results[name] = why;
      failed++;
      console.log(`FAIL ${name}: ${why}`);
    }
  };
  for (const path of verify) {
    const doc = await readShared(path);
    await report(`verify:${doc.lang}`, () => doc.shared ? verifyShared(client, doc.shared) : Promise.reject(doc.error));
  }
  const runner = new ScenarioRunner(client, lang);
  for (const scenario of scenarios) await report(scenario.name, () => runner.run(scenario));
  if (out) {
    try {
      await writeFile(out, JSON.stringify({ lang, shared: runner.shared, results }, null, 2) + "\n");
    } catch (error) {
      console.error(`interop: cannot write ${out}: ${error}`);
      failed++;
    }
  }
  console.log(`interop: ${passed} passed, ${failed} failed`);
  return failed > 0 ? 1 : 0;
}

/** Reads another driver's results file; an unreadable one becomes a failed `verify:<path>` scenario. */
async function readShared(path: string): Promise<{ lang: string; shared?: SharedArtifact[]; error?: Error }> {
  try {
    const doc = JSON.parse(await readFile(path, "utf8")) as { lang?: string; shared?: SharedArtifact[] };
    return { lang: doc.lang ?? path, shared: doc.shared ?? [] };
  } catch (error) {
    return { lang: path, error: error instanceof Error ? error : new Error(String(error)) };
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error) => {
    console.error(`interop: ${error instanceof Error ? error.message : error}\n${USAGE}`);
    process.exitCode = 2;
  },
);
