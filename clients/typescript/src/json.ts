/**
 * Plain JSON values for `google.protobuf.Struct` / `Value` fields (metadata, state, event payloads).
 *
 * The generated code converts between these and the protobuf messages; this module checks, before a
 * request is sent, that a value is one JSON can represent, so that a mistake fails with a clear path.
 *
 * @module
 */

/** A value a `google.protobuf.Value` can hold. Numbers travel as doubles. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** A `google.protobuf.Struct`: an object of JSON values. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * Checks that `value` is representable as a `google.protobuf.Value` and returns it.
 *
 * Rejects `undefined`, functions, symbols, bigints, non-finite numbers and non-plain objects (Date,
 * Map, class instances) with a `TypeError` naming the offending path.
 */
export function checkJson(value: unknown, path = "value"): JsonValue {
  if (value === null || typeof value === "boolean" || typeof value === "string") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`${path}: ${value} is not representable as JSON`);
    return value;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkJson(item, `${path}[${index}]`));
    return value as JsonValue[];
  }
  if (isPlainObject(value)) {
    checkJsonObject(value, path);
    return value as JsonObject;
  }
  const kind = value === undefined ? "undefined" : typeof value === "object" ? value.constructor?.name : typeof value;
  throw new TypeError(`${path}: ${kind} is not representable as JSON`);
}

/** Checks every entry of an object (a Struct or a map of Values) with {@link checkJson}. */
export function checkJsonObject(value: object, path = "value"): JsonObject {
  if (!isPlainObject(value)) throw new TypeError(`${path}: expected a plain object`);
  for (const [key, item] of Object.entries(value)) checkJson(item, `${path}.${key}`);
  return value as JsonObject;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
