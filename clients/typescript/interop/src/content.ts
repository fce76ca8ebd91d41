/**
 * Generated content of the scenarios: xorshift32 bytes and the edits applied to them.
 *
 * @module
 */

/** `{"generate": "xorshift32", "seed": S, "size": N, "edits"?: [...]}` in a scenario. */
export interface ContentSpec {
  generate: string;
  seed: number | string;
  size: number;
  edits?: Edit[];
}

/** `{"xor": B, "offset": O, "size": L}` or `{"insert": L, "offset": O, "seed": S}`. */
export type Edit = { xor: number; offset: number; size: number } | { insert: number; offset: number; seed: number };

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

/** The bytes a content spec describes (`seed` already a number): xorshift32, then the edits in order. */
export function generateContent(spec: ContentSpec): Buffer {
  if (spec.generate !== "xorshift32") throw new Error(`unknown content generator ${JSON.stringify(spec.generate)}`);
  let data = xorshift32(Number(spec.seed), Number(spec.size));
  for (const edit of spec.edits ?? []) {
    const offset = Number(edit.offset);
    if ("xor" in edit) {
      for (let i = offset; i < offset + Number(edit.size); i++) data[i] = data[i]! ^ Number(edit.xor);
    } else if ("insert" in edit) {
      data = Buffer.concat([data.subarray(0, offset), xorshift32(Number(edit.seed), Number(edit.insert)), data.subarray(offset)]);
    } else {
      throw new Error(`unknown edit ${JSON.stringify(edit)}`);
    }
  }
  return data;
}
