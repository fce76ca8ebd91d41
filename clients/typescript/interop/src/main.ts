#!/usr/bin/env node
/**
 * The TypeScript interop driver (see tests/interop/README.md):
 *
 *     node interop/dist/main.js --target HOST:PORT [--target-auth HOST:PORT] --scenarios FILE --lang LANG \
 *          [--out RESULTS.json] [--verify SHARED.json ...]
 *
 * One connection per server for the whole run; a step's token goes in its call's metadata. Prints
 * `ok NAME` / `FAIL NAME: why` / `skip NAME: why` per scenario, then `interop: N passed, M failed`;
 * exits 1 if any failed, 2 on a usage error.
 *
 * @module
 */
import { readFile, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { connect, type SessionsClient } from "@llmspell/sessions";
import { ScenarioRun, verifyShared, type Scenario, type SharedArtifact, type Tokens } from "./runner.js";

const USAGE = "usage: interop --target HOST:PORT [--target-auth HOST:PORT] --scenarios FILE --lang LANG " +
  "[--out FILE] [--verify FILE ...]";

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      target: { type: "string" },
      "target-auth": { type: "string", default: "" },
      scenarios: { type: "string", default: "tests/interop/scenarios.json" },
      lang: { type: "string", default: "typescript" },
      out: { type: "string" },
      verify: { type: "string", multiple: true, default: [] },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.target) throw new Error("--target is required");
  const document = JSON.parse(await readFile(values.scenarios!, "utf8")) as { tokens?: Tokens; scenarios: Scenario[] };
  const clients: Record<string, SessionsClient> = { main: connect({ target: values.target }) };
  if (values["target-auth"]) clients.auth = connect({ target: values["target-auth"] });
  const run = new Run(values.lang!, clients, document.tokens ?? {});
  try {
    for (const path of values.verify ?? []) await run.verify(path);
    for (const scenario of document.scenarios) await run.scenario(scenario);
  } finally {
    for (const client of Object.values(clients)) client.close();
  }
  if (values.out) {
    const results = { lang: values.lang, shared: run.shared, results: run.results };
    await writeFile(values.out, JSON.stringify(results, null, 2) + "\n");
  }
  console.log(`interop: ${run.passed} passed, ${run.failed} failed`);
  return run.failed > 0 ? 1 : 0;
}

/** A whole driver run: the connections, the counts and what --out writes. */
class Run {
  passed = 0;
  failed = 0;
  readonly results: Record<string, string> = {};
  readonly shared: SharedArtifact[] = [];

  constructor(readonly lang: string, readonly clients: Record<string, SessionsClient>, readonly tokens: Tokens) {}

  report(name: string, outcome: string): void {
    this.results[name] = outcome;
    if (outcome === "ok") {
      this.passed++;
      console.log(`ok ${name}`);
    } else if (outcome === "skipped") {
      console.log(`skip ${name}: no --target-auth`);
    } else {
      this.failed++;
      console.log(`FAIL ${name}: ${outcome}`);
    }
  }

  async verify(path: string): Promise<void> {
    let name = `verify:${path}`;
    try {
      const doc = JSON.parse(await readFile(path, "utf8")) as { lang?: string; shared?: SharedArtifact[] };
      name = `verify:${doc.lang ?? path}`;
      await verifyShared(this.clients.main!, doc.shared ?? []);
      this.report(name, "ok");
    } catch (error) {
      this.report(name, error instanceof Error ? error.message : String(error));
    }
  }

  async scenario(scenario: Scenario): Promise<void> {
    const client = this.clients[scenario.server ?? "main"];
    if (!client) return this.report(scenario.name, "skipped");
    const run = new ScenarioRun(client, this.lang, this.tokens);
    try {
      await run.run(scenario);
      this.report(scenario.name, "ok");
    } catch (error) {
      this.report(scenario.name, error instanceof Error ? error.message : String(error));
    } finally {
      this.shared.push(...run.context.shared);
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error) => {
    console.error(`interop: ${error instanceof Error ? error.message : error}\n${USAGE}`);
    process.exitCode = 2;
  },
);
