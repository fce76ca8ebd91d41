/**
 * How a step's result is compared with its expectations (tests/interop/README.md, "Expectations"),
 * and results as proto3 JSON with proto field names.
 *
 * @module
 */

/** A result as the scenarios see it: proto3 JSON with snake_case (proto) field names. */
export type Result = Record<string, unknown>;

// Fields whose value is a map or a Struct/Value: their keys are data and stay as they are.
const RAW = new Set(["entries", "state", "metadata", "payload", "value", "old_value", "new_value", "state_added",
  "state_removed", "create_entries", "grants"]);
// Maps of messages: the keys stay, the values are converted.
const MAPS_OF_MESSAGES = new Set(["state_changed"]);

const snake = (key: string) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The ts-proto `toJSON` of a message (camelCase json names) with proto field names at every level. */
export function protoNames(json: unknown): unknown {
  if (Array.isArray(json)) return json.map(protoNames);
  if (json === null || typeof json !== "object") return json;
  const out: Result = {};
  for (const [key, value] of Object.entries(json as Result)) {
    const name = snake(key);
    if (RAW.has(name)) out[name] = value;
    else if (MAPS_OF_MESSAGES.has(name)) {
      out[name] = Object.fromEntries(Object.entries(value as Result).map(([k, v]) => [k, protoNames(v)]));
    } else out[name] = protoNames(value);
  }
  return out;
}

/** The value at a dotted path (decimal segments index lists); undefined when it is not there. */
export function lookup(result: unknown, path: string): unknown {
  let value = result;
  for (const part of path.split(".")) {
    if (Array.isArray(value) && /^\d+$/.test(part)) value = value[Number(part)];
    else if (value !== null && typeof value === "object" && !Array.isArray(value)) value = (value as Result)[part];
    else return undefined;
    if (value === undefined) return undefined;
  }
  return value;
}

/** A number, or a decimal string (int64 in proto3 JSON); undefined for anything else. */
export function asNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (typeof value === "string" && value.trim() !== "" && !Number.isNaN(Number(value))) return Number(value);
  return undefined;
}

function isDefault(expected: unknown): boolean {
  return expected === null || expected === 0 || expected === "" || expected === false ||
    (Array.isArray(expected) && expected.length === 0) ||
    (typeof expected === "object" && expected !== null && Object.keys(expected).length === 0);
}

/** Structural equality: numbers numerically (int64 may be strings); an absent field equals a default. */
export function jsonEqual(expected: unknown, actual: unknown): boolean {
  if (actual === undefined || actual === null) return isDefault(expected);
  if (typeof expected === "boolean" || typeof actual === "boolean") return expected === actual;
  if (typeof expected === "number") {
    const got = asNumber(actual);
    return got !== undefined && Math.abs(got - expected) <= 1e-9 * Math.max(1, Math.abs(expected));
  }
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => jsonEqual(e, actual[i]));
  }
  if (expected !== null && typeof expected === "object") {
    if (typeof actual !== "object" || Array.isArray(actual)) return false;
    const want = Object.keys(expected as Result).sort();
    const got = Object.keys(actual as Result).filter((k) => (actual as Result)[k] !== undefined).sort();
    return jsonEqual(want, got) && want.every((k) => jsonEqual((expected as Result)[k], (actual as Result)[k]));
  }
  return expected === actual;
}

/** One step's expectation sections. */
export interface Expectations {
  expect?: Record<string, unknown>;
  expect_not?: Record<string, unknown>;
  expect_at_least?: Record<string, unknown>;
  expect_at_most?: Record<string, unknown>;
}

/** The first unmet expectation of `result`, described; undefined when all hold. */
export function firstMismatch(step: Expectations, result: unknown, resolve: (value: unknown) => unknown): string | undefined {
  for (const [key, value] of Object.entries(step.expect ?? {})) {
    const want = resolve(value);
    if (!jsonEqual(want, lookup(result, key))) return `${key} = ${show(lookup(result, key))}, expected ${show(want)}`;
  }
  for (const [key, value] of Object.entries(step.expect_not ?? {})) {
    const want = resolve(value);
    if (jsonEqual(want, lookup(result, key))) return `${key} should differ from ${show(want)}`;
  }
  return bound(step.expect_at_least, result, resolve, "at least", (got, limit) => got >= limit) ??
    bound(step.expect_at_most, result, resolve, "at most", (got, limit) => got <= limit);
}

function bound(wanted: Record<string, unknown> | undefined, result: unknown, resolve: (value: unknown) => unknown,
  name: string, ok: (got: number, limit: number) => boolean): string | undefined {
  for (const [key, value] of Object.entries(wanted ?? {})) {
    const got = asNumber(lookup(result, key));
    const limit = asNumber(resolve(value));
    if (got === undefined || limit === undefined || !ok(got, limit)) {
      return `${key} = ${show(lookup(result, key))}, expected ${name} ${show(limit)}`;
    }
  }
  return undefined;
}

const show = (value: unknown) => (value === undefined ? "absent" : JSON.stringify(value)?.slice(0, 200));
