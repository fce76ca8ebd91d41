/**
 * Deterministic content of the interop suite: xorshift32 bytes.
 *
 * @module
 */

/** `{"generate": "xorshift32", "seed": S, "size": N}` in a scenario. */
export interface ContentSpec {
  generate: string;
  seed: number;
  size: number;
}

/**
 * N bytes of xorshift32 from state `seed`: per 32-bit word `x ^= x << 13; x ^= x >> 17; x ^= x << 5`
 * (uint32), emitted little-endian; the last word is truncated to fit.
 */
export function xorshift32(seed: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(Math.ceil(size / 4) * 4);
  let x = seed >>> 0;
  for (let offset = 0; offset < out.length; offset += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out.writeUInt32LE(x, offset);
  }
  return out.subarray(0, size);
}

/** The bytes a content spec describes. */
export function generateContent(spec: ContentSpec): Buffer {
  if (spec.generate !== "xorshift32") throw new Error(`unknown content generator ${JSON.stringify(spec.generate)}`);
  return xorshift32(spec.seed, spec.size);
}
