/**
 * Runs interop scenarios step by step: substitution, the call, and the checks of each step.
 *
 * @module
 */
import { blake3Hex, DigestCounter, SessionsError, type SessionsClient } from "@llmspell/sessions";
import { firstMismatch, type Result } from "./compare.js";
import { generateContent, type ContentSpec } from "./content.js";
import { OPS } from "./ops.js";

/** One step of a scenario (see tests/interop/README.md). */
export interface Step {
  op: string;
  args?: Record<string, unknown>;
  save?: string;
  share?: boolean;
  expect?: Record<string, unknown>;
  expect_not?: Record<string, unknown>;
  expect_error?: { code: string; reason: string };
}

/** A named list of steps; it stops at its first failing step. */
export interface Scenario {
  name: string;
  steps: Step[];
}

/** An artifact another driver downloads to check byte identity. */
export interface SharedArtifact {
  artifact_id: string;
  content_digest: string;
  size: number;
}

const REFERENCE = /\$([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?/g;

/** Runs scenarios against one client, remembering saved results and shared artifacts across them. */
export class ScenarioRunner {
  /** Every artifact uploaded by a step with `"share": true`. */
  readonly shared: SharedArtifact[] = [];
  readonly #client: SessionsClient;
  readonly #lang: string;
  #saved = new Map<string, Result>();
  #contents = new Map<string, Buffer>();

  constructor(client: SessionsClient, lang: string) {
    this.#client = client;
    this.#lang = lang;
  }

  /** Runs one scenario; throws an Error describing the first failing step. */
  async run(scenario: Scenario): Promise<void> {
    this.#saved = new Map();
    this.#contents = new Map();
    for (const [index, step] of scenario.steps.entries()) {
      try {
        await this.#runStep(step);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        throw new Error(`step ${index + 1} (${step.op}): ${why}`);
      }
    }
  }

  async #runStep(step: Step): Promise<void> {
    const op = OPS[step.op];
    if (!op) throw new Error(`unknown op ${step.op}`);
    const context: Context = {};
    const args = this.#substitute(step.args ?? {}, context) as Record<string, unknown>;
    const spec = args.content as ContentSpec | undefined;
    const content = spec ? generateContent(spec) : undefined;
    if (content) context.contentDigest = blake3Hex(content);
    context.rangeDigest = () => this.#rangeDigest(step, args);

    let result: Result;
    try {
      result = await op(this.#client, { ...args, content });
    } catch (error) {
      if (step.expect_error && error instanceof SessionsError) return checkError(step.expect_error, error);
      throw error;
    }
    if (step.expect_error) throw new Error(`expected ${step.expect_error.code}/${step.expect_error.reason}, got success`);
    const mismatch = firstMismatch(this.#substitute(step.expect ?? {}, context) as Record<string, unknown>, result) ??
      firstMismatch(this.#substitute(step.expect_not ?? {}, context) as Record<string, unknown>, result, true);
    if (mismatch) throw new Error(mismatch);
    if (step.save) {
      this.#saved.set(step.save, result);
      if (content) this.#contents.set(step.save, content);
    }
    if (step.share) this.shared.push(sharedOf(result));
  }

  /** Replaces `$lang`, `$name.field`, `$content_digest` and `$range_digest` in every string. */
  #substitute(value: unknown, context: Context): unknown {
    if (typeof value === "string") {
      const whole = value.match(/^\$([A-Za-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?$/);
      if (whole) return this.#resolve(whole[1]!, whole[2], context);
      return value.replace(REFERENCE, (_, name: string, field?: string) => String(this.#resolve(name, field, context)));
    }
    if (Array.isArray(value)) return value.map((item) => this.#substitute(item, context));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.#substitute(v, context)]));
    }
    return value;
  }

  #resolve(name: string, field: string | undefined, context: Context): unknown {
    const special = this.#special(name, context);
    if (special !== undefined) return field ? `${special}.${field}` : special; // "$lang.bin" is "ts.bin"
    const saved = this.#saved.get(name);
    if (!saved) throw new Error(`no saved result $${name}`);
    if (!field) throw new Error(`$${name} needs a field`);
    return saved[field] ?? "";
  }

  /** The value of `$lang`, `$content_digest` or `$range_digest`; undefined for other names. */
  #special(name: string, context: Context): string | undefined {
    if (name === "lang") return this.#lang;
    if (name === "content_digest") return need(context.contentDigest, "$content_digest");
    if (name === "range_digest") return need(context.rangeDigest, "$range_digest")();
    return undefined;
  }

  /** BLAKE3 of `content[offset:offset+limit]` of the upload saved under the name the step's artifact_id names. */
  #rangeDigest(step: Step, args: Record<string, unknown>): string {
    const source = String(step.args?.artifact_id ?? "").match(/^\$([A-Za-z_][A-Za-z0-9_]*)\./)?.[1];
    const content = source === undefined ? undefined : this.#contents.get(source);
    if (!content) throw new Error("$range_digest: the step's artifact_id names no uploaded content");
    const offset = Number(args.offset ?? 0);
    const limit = Number(args.limit ?? 0);
    return blake3Hex(content.subarray(offset, limit > 0 ? offset + limit : undefined));
  }
}

/** Downloads every shared artifact of another driver and checks its size and digest. */
export async function verifyShared(client: SessionsClient, shared: SharedArtifact[]): Promise<void> {
  for (const artifact of shared) {
    const counter = new DigestCounter();
    await client.artifacts.downloadArtifact(artifact.artifact_id, counter.update);
    const digest = counter.digest();
    if (counter.size !== Number(artifact.size) || digest !== artifact.content_digest) {
      throw new Error(`artifact ${artifact.artifact_id}: got ${counter.size} bytes ${digest}, ` +
        `shared ${artifact.size} bytes ${artifact.content_digest}`);
    }
  }
}

interface Context {
  contentDigest?: string;
  rangeDigest?: () => string;
}

function checkError(expected: { code: string; reason: string }, error: SessionsError): void {
  if (error.codeName === expected.code && error.reason === expected.reason) return;
  throw new Error(`expected ${expected.code}/${expected.reason}, got ${error.codeName}/${error.reason}: ${error.details}`);
}

function sharedOf(result: Result): SharedArtifact {
  return {
    artifact_id: String(result.artifact_id),
    content_digest: String(result.content_digest),
    size: Number(result.size),
  };
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not available in this step`);
  return value;
}
