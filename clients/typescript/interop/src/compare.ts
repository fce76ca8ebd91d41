/**
 * Result comparison of the interop suite: `expect` / `expect_not` against proto3 JSON results.
 *
 * @module
 */

/** A result as the scenarios see it: proto3 JSON with snake_case top-level field names. */
export type Result = Record<string, unknown>;

/** The proto3 JSON of a message (ts-proto `toJSON`, camelCase keys) with snake_case top-level keys. */
export function snakeResult(json: unknown): Result {
  const result: Result = {};
  for (const [key, value] of Object.entries(json as Result)) result[key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = value;
  return result;
}

/**
 * True when `actual` equals `expected`: numbers numerically (int64 may arrive as strings), objects with
 * the same keys, and an absent field as its proto3 default (proto3 JSON omits defaults).
 */
export function jsonEqual(expected: unknown, actual: unknown): boolean {
  if (typeof expected === "number") return actual === undefined ? expected === 0 : Number(actual) === expected;
  if (typeof expected === "string") return (actual ?? "") === expected;
  if (typeof expected === "boolean") return (actual ?? false) === expected;
  if (expected === null) return actual === null;
  if (Array.isArray(expected)) {
    const items = actual ?? [];
    return Array.isArray(items) && items.length === expected.length && expected.every((e, i) => jsonEqual(e, items[i]));
  }
  const object = (actual ?? {}) as Record<string, unknown>;
  if (typeof object !== "object" || Array.isArray(object) || object === null) return false;
  const keys = Object.keys(expected as object);
  const actualKeys = Object.keys(object).filter((k) => object[k] !== undefined);
  return keys.length === actualKeys.length &&
    keys.every((k) => k in object && jsonEqual((expected as Record<string, unknown>)[k], object[k]));
}

/** The first mismatch of `expect` (or, with `negate`, of `expect_not`), described; undefined when all hold. */
export function firstMismatch(expected: Record<string, unknown>, result: Result, negate = false): string | undefined {
  for (const [key, value] of Object.entries(expected)) {
    if (jsonEqual(value, result[key]) !== negate) continue;
    const want = `${negate ? "not " : ""}${JSON.stringify(value)}`;
    return `${key}: expected ${want}, got ${JSON.stringify(result[key])}`;
  }
  return undefined;
}
