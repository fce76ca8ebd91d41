/**
 * Content-defined chunking exactly as the server cuts: FastCDC 2020 with normalized chunking level 1
 * and the "llmspell-gear-v1" gear table (the reference is server/llmspell_sessions/hotpath/_pure.py;
 * tests/vectors/chunking.json holds golden vectors).
 *
 * The 64-bit rolling hash is kept as two 32-bit halves: every mask lies below bit 48, and the low bits
 * of `(h << 1) + gear[b]` depend only on the low bits of `h`, so no BigInt is needed.
 *
 * @module
 */
import { blake3 } from "@noble/hashes/blake3.js";

/** The gear table id this chunker implements. */
export const GEAR_TABLE_ID = "llmspell-gear-v1";
/** The chunking algorithm this chunker implements. */
export const CHUNKING_ALGORITHM = "fastcdc-2020";

/** Chunk sizes (from GetCapabilities' `chunking`) with the masks derived from `avgSize`. */
export interface ChunkParams {
  minSize: number;
  avgSize: number;
  maxSize: number;
  /** MASKS[bits + 1] and MASKS[bits - 1] as [high 32 bits, low 32 bits]. */
  maskS: readonly [number, number];
  maskL: readonly [number, number];
}

// The fastcdc crate's v2020 MASKS (entry k has k one bits), as [high, low] 32-bit halves.
const MASKS: readonly (readonly [number, number])[] = [
  [0, 0], [0, 0], [0, 0], [0, 0], [0, 0],
  [0x0, 0x01804110], [0x0, 0x01803110], [0x0, 0x18035100], [0x18, 0x00035300],
  [0x190, 0x00353000], [0x5900, 0x03530000], [0xd900, 0x03530000], [0xd901, 0x03530000],
  [0xd903, 0x03530000], [0xd903, 0x13530000], [0xd90f, 0x03530000], [0xd903, 0x03537000],
  [0xd907, 0x03537000], [0xd907, 0x07537000], [0xd917, 0x07537000], [0xd917, 0x47537000],
  [0xd917, 0x67537000], [0xd937, 0x67537000], [0xd937, 0x77537000], [0xd937, 0x77577000],
  [0xdb37, 0x77577000],
];
const SIZE_LIMIT = 16 * 1024 * 1024;

let gear: { lo: Uint32Array; hi: Uint32Array } | undefined;

/**
 * The gear table: entry i is the first 8 bytes, little-endian, of
 * BLAKE3("llmspell-sessions/gear/v1" + byte i), as 32-bit halves.
 */
export function gearTable(): { lo: Uint32Array; hi: Uint32Array } {
  if (gear) return gear;
  const lo = new Uint32Array(256);
  const hi = new Uint32Array(256);
  const prefix = new TextEncoder().encode("llmspell-sessions/gear/v1");
  const input = new Uint8Array(prefix.length + 1);
  input.set(prefix);
  for (let i = 0; i < 256; i++) {
    input[prefix.length] = i;
    const view = new DataView(blake3(input).buffer);
    lo[i] = view.getUint32(0, true);
    hi[i] = view.getUint32(4, true);
  }
  return (gear = { lo, hi });
}

/** `round(log2(avgSize))`, computed exactly with integers as every language does. */
export function maskBits(avgSize: number): number {
  const b = 31 - Math.clz32(avgSize); // floor(log2), exact for avgSize <= 16 MiB
  return avgSize * avgSize > 2 ** (2 * b + 1) ? b + 1 : b; // both sides exact below 2^53
}

/** Checks the sizes (64 ≤ min ≤ avg ≤ max ≤ 16 MiB) and derives the masks. */
export function chunkParams(minSize: number, avgSize: number, maxSize: number): ChunkParams {
  for (const [name, value] of [["minSize", minSize], ["avgSize", avgSize], ["maxSize", maxSize]] as const) {
    if (!Number.isSafeInteger(value)) throw new RangeError(`${name} must be an integer, got ${value}`);
  }
  if (minSize < 64) throw new RangeError(`minSize must be >= 64, got ${minSize}`);
  if (!(minSize <= avgSize && avgSize <= maxSize)) {
    throw new RangeError(`sizes must satisfy minSize <= avgSize <= maxSize, got ${minSize}, ${avgSize}, ${maxSize}`);
  }
  if (maxSize > SIZE_LIMIT) throw new RangeError(`maxSize must be <= 16 MiB, got ${maxSize}`);
  const bits = maskBits(avgSize);
  return { minSize, avgSize, maxSize, maskS: MASKS[bits + 1]!, maskL: MASKS[bits - 1]! };
}

/** The length of the chunk that starts at `data[start]`, given `n` bytes from there. */
function cutLength(data: Uint8Array, start: number, n: number, p: ChunkParams): number {
  if (n <= p.minSize) return n;
  if (n > p.maxSize) n = p.maxSize;
  const center = Math.min(p.avgSize, n);
  const { lo: gearLo, hi: gearHi } = gearTable();
  let lo = 0;
  let hi = 0;
  let [maskHi, maskLo] = p.maskS;
  for (let i = p.minSize; i < n; i++) {
    if (i === center) [maskHi, maskLo] = p.maskL;
    const byte = data[start + i]!;
    const sum = ((lo << 1) >>> 0) + gearLo[byte]!;
    hi = (((hi << 1) | (lo >>> 31)) + gearHi[byte]! + (sum > 0xffffffff ? 1 : 0)) >>> 0;
    lo = sum >>> 0;
    if ((lo & maskLo) === 0 && (hi & maskHi) === 0) return i;
  }
  return n;
}

/**
 * End offsets of the chunks of `data`, ascending. With `final` (the default) the last offset is
 * `data.length`; without it, a last chunk that more data could still extend is left out.
 */
export function chunkCuts(data: Uint8Array, params: ChunkParams, final = true): number[] {
  const cuts: number[] = [];
  let start = 0;
  while (start < data.length) {
    const remaining = data.length - start;
    const size = cutLength(data, start, remaining, params);
    if (!final && size === remaining && remaining < params.maxSize) break;
    start += size;
    cuts.push(start);
  }
  return cuts;
}

/**
 * Cuts a stream fed in pieces into the same chunks as {@link chunkCuts} of the whole. Only the bytes
 * after the last certain cut (fewer than maxSize plus the newest piece) are held.
 */
export class StreamChunker {
  readonly #params: ChunkParams;
  #tail: Uint8Array = new Uint8Array(0);

  constructor(params: ChunkParams) {
    this.#params = params;
  }

  /** Adds `data`; returns the chunks now complete (views of an internal buffer, valid until the next call). */
  push(data: Uint8Array): Uint8Array[] {
    return this.#split(this.#tail.length === 0 ? data : concat(this.#tail, data), false);
  }

  /** Ends the stream: returns the remaining chunks (at most one). */
  finish(): Uint8Array[] {
    const chunks = this.#split(this.#tail, true);
    this.#tail = new Uint8Array(0);
    return chunks;
  }

  #split(data: Uint8Array, final: boolean): Uint8Array[] {
    const chunks: Uint8Array[] = [];
    let start = 0;
    for (const end of chunkCuts(data, this.#params, final)) {
      chunks.push(data.subarray(start, end));
      start = end;
    }
    this.#tail = data.slice(start); // copied: the caller may reuse its buffer
    return chunks;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
