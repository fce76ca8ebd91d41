/**
 * Runs interop scenarios step by step: substitution, the call (repeated when asked), and the checks.
 *
 * @module
 */
import { randomBytes, randomInt } from "node:crypto";
import { DigestCounter, SessionsError, type CallOptions, type SessionsClient } from "@llmspell/sessions";
import { firstMismatch, jsonEqual, lookup, type Expectations, type Result } from "./compare.js";
import { UNARY_OPS } from "./ops.js";
import { STREAM_OPS, type StreamContext } from "./streams.js";

/** One step of a scenario (see tests/interop/README.md). */
export interface Step extends Expectations {
  op: string;
  args?: Record<string, unknown>;
  token?: string;
  save?: string;
  share?: boolean;
  repeat_until_error?: number;
  expect_error?: Record<string, unknown>;
}

/** A named list of steps on one server; it stops at its first failing step. */
export interface Scenario {
  name: string;
  server?: "main" | "auth";
  token?: string;
  steps: Step[];
}

/** The scenario file's tokens table. */
export type Tokens = Record<string, { token: string; subject: string; tenant: string; role: string }>;

/** An artifact another driver downloads to check byte identity. */
export interface SharedArtifact {
  artifact_id: string;
  content_digest: string;
  size: number;
}

/** The error result of a step: `{code, reason, retry_delay_ms, attempts}` (and the message). */
type ErrorResult = { code: string; reason: string; message: string; retry_delay_ms: number; attempts: number };

/** One run of one scenario: its saved results and the substitutions they feed. */
export class ScenarioRun {
  readonly #client: SessionsClient;
  readonly #lang: string;
  readonly #tokens: Tokens;
  readonly #saved = new Map<string, Result>();
  readonly #uid = randomBytes(8).toString("hex");
  readonly context: StreamContext = {
    share: false, randomSeed: randomInt(1, 0xffffffff), lastContent: Buffer.alloc(0), lastContentDigest: "", rangeDigest: "",
    contents: new Map(), shared: [],
  };

  constructor(client: SessionsClient, lang: string, tokens: Tokens) {
    this.#client = client;
    this.#lang = lang;
    this.#tokens = tokens;
  }

  /** Every step in order; throws an Error naming the first step that does not meet its expectations. */
  async run(scenario: Scenario): Promise<void> {
    for (const [index, step] of scenario.steps.entries()) {
      try {
        await this.#step(step, step.token ?? scenario.token ?? "");
      } catch (error) {
        throw new Error(`step ${index + 1} (${step.op}): ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }

  async #step(step: Step, tokenName: string): Promise<void> {
    const { result, error } = await this.#call(step, tokenName);
    const resolve = (value: unknown) => this.#resolve(value);
    if (error) {
      if (!step.expect_error) throw new Error(`unexpected error ${error.code}/${error.reason}: ${error.message}`);
      for (const [key, value] of Object.entries(step.expect_error)) {
        if (!jsonEqual(resolve(value), (error as Record<string, unknown>)[key])) {
          throw new Error(`unexpected error ${error.code}/${error.reason}: ${error.message}`);
        }
      }
      const bounds = firstMismatch({ expect_at_least: step.expect_at_least, expect_at_most: step.expect_at_most }, error, resolve);
      if (bounds) throw new Error(bounds);
      return;
    }
    if (step.expect_error) throw new Error(`expected error ${JSON.stringify(step.expect_error)}, got success`);
    const mismatch = firstMismatch(step, result, resolve);
    if (mismatch) throw new Error(mismatch);
    if (step.save) this.#saved.set(step.save, result!);
  }

  /** Runs a step's call, up to `repeat_until_error` times: its result, or its error result. */
  async #call(step: Step, tokenName: string): Promise<{ result?: Result; error?: ErrorResult }> {
    const unary = UNARY_OPS[step.op];
    const stream = STREAM_OPS[step.op];
    if (!unary && !stream) throw new Error(`unknown op ${step.op}`);
    const token = tokenName ? this.#tokens[tokenName]?.token : "";
    if (token === undefined) throw new Error(`unknown token ${tokenName}`);
    const options: CallOptions = { token, timeoutMs: 60_000 };
    this.context.share = step.share === true;
    const limit = Number(step.repeat_until_error ?? 1);
    let result: Result = {};
    for (let attempt = 1; attempt <= limit; attempt++) {
      const args = this.#resolve(step.args ?? {}) as Record<string, any>;
      try {
        result = await (unary ? unary(this.#client, args, options) : stream!(this.#client, args, options, this.context));
      } catch (error) {
        if (!(error instanceof SessionsError)) throw error;
        const retry = error.retryDelayMs ? Math.round(error.retryDelayMs) : 0;
        return { error: { code: error.codeName, reason: error.reason, message: error.details, retry_delay_ms: retry, attempts: attempt } };
      }
    }
    return { result: { ...result, attempts: limit } };
  }

  /** Substitutes `$content_digest`, `$range_digest`, `$name.path`, `$lang` and `$uid`. */
  #resolve(value: unknown): unknown {
    if (typeof value === "string") {
      if (value === "$content_digest") return this.context.lastContentDigest;
      if (value === "$range_digest") return this.context.rangeDigest;
      const dot = value.indexOf(".");
      const name = value.slice(1, dot);
      if (value.startsWith("$") && dot > 1 && this.#saved.has(name)) return lookup(this.#saved.get(name), value.slice(dot + 1)) ?? null;
      return value.replaceAll("$lang", this.#lang).replaceAll("$uid", this.#uid);
    }
    if (Array.isArray(value)) return value.map((item) => this.#resolve(item));
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.#resolve(v)]));
    }
    return value;
  }
}

/** Downloads every shared artifact of another driver and checks its size and digest. */
export async function verifyShared(client: SessionsClient, shared: SharedArtifact[]): Promise<void> {
  for (const artifact of shared) {
    const counter = await DigestCounter.create();
    await client.artifacts.downloadArtifact(artifact.artifact_id, counter.update);
    const digest = counter.digest();
    if (counter.size !== Number(artifact.size) || digest !== artifact.content_digest) {
      throw new Error(`artifact ${artifact.artifact_id}: got ${counter.size} bytes ${digest}, ` +
        `shared ${artifact.size} bytes ${artifact.content_digest}`);
    }
  }
}
