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

/**
 * The "llmspell-gear-v1" table, as tests/vectors/gear_table.json lists it: entry i is the first 8 bytes,
 * little-endian, of BLAKE3("llmspell-sessions/gear/v1" + byte i) (test/chunker.test.ts checks the rule).
 */
const GEAR_HEX = `
  4d3facea1a7d43de 7dc0c317e80f50b2 f52c5f8c63b0c549 c07cfdd8468b5058 50e63a43ebc2a74b fa22b6330acbacf9 4dadd5fd546e4016 ed594522b3d20047
  85382c573abca9a0 9bf5d8c1aea30562 9b0c34d534a718fc c7c344dbfe216ce9 d240e05102fb10c5 b6f98a7afe5790ea 8a4447485a3da2c7 b997d2f4c9030ea0
  83b432ab580a6bff 7f2466fb6b05956e cb55b24428dca305 2ee3f0fe5fabeae8 9b21212dc51aa2aa 74e6f45cc9b43471 d755ab076673eb66 59ef63bbe9b5a6d3
  4bd3db5fea69e66e c95c47707eed9ad7 11b6d440d00d18e1 59b2ebca80df6b4c 90f108af478498c1 ebb119f1efe40191 ed553b2d5136a0e6 23972557f556c0b9
  a9a4ccd04bd99ec7 bf8a067adf986fe7 97a4e9663f19cb5c 4871f0236bb21fb6 86fe5208e8b46a2a 4d1972874a923318 35ca6c042e6c06a1 7c27341d16d86315
  871b76bc33303f75 9782f9c44a40620f 45e45dfc10b0289b 717aaa03094a2aa3 39e3b8d83959a3da 0cf4fa035c61c531 239c19c0ab632650 b664e363abb000b4
  6a09e216cf1e9a90 65d4f8ce04a04315 d3cb9b4096065700 6cd88f86a7d4eb2d c9aef763b6150970 b578977a5eba76a9 fe4e84b2090ef14b 932bfa6c40bec0e4
  14e6d5ea02ecd5cd 74573b246c9300f6 6a64b97a7898e552 7a8060bae90c516f 889bdaf7e3df826f 84a544107347f779 484406489a648236 bfaba5d3f97e8bbf
  ae3196c1890df39a 199ab5ae98371147 344fab07084c6714 00ace38d75037e8d 9eaec642e0b3f88e e0bdc3c89d586c46 f1b21f96dd0fd631 5c9a4f6569487eb4
  4296859a888c629c 0554d30c3c9db2d1 20f306b2be480f86 779b91fa83a2d7b7 fed5f64475eefd07 5b06d27e9e33271b aa161806500276e9 a1bc92945640defa
  30329ba9ea6089cb 35dd010ad8042d5f 3daeceda53a038f2 4cbf0418f33988c2 869aa1426d7d3a66 891d68e9f3eca920 cd1d365b7615669a bc35a871b880a6a7
  9fb169d05809813c 3aced1b73ecc03c4 612282afb1b7f4d9 7d891dbe79d19152 cfe938678f501d94 e2a958522cbee589 2b1dd45f3ffb542d 49ac8f41f7fee0b4
  92a20b3ebdc828b9 02af9d49fb8a5c72 73e7fbad3948f00d 150559c372909313 ea639903dfa05db7 532214dab8469f8c fb0c9e28d1c47d0b 443e5f7d97f9f1b8
  e73369a786a187b8 fe139838a82d7c2f 08164067a6fc0ad8 9ed2d5850c39278e 801cdd2e12ebe3fc 1bbabade98f77a8e b88b2f40fa672549 35c39fc794011de4
  2b79cea8ba01db19 76a867b63452b2e3 00dab8331bf23d72 750042304ff97c7e 61d9a403b74f8458 a8000368e695d7c4 d243081fc236f582 b11db9d2fae9b1f7
  7062afae5abdf22a 7ca1619cf0395953 82ef71ed88fb993d 7061d910fa773861 a109868eb5a4a851 8e88db34416bb14e 1bf900c24d9199a3 2e2b348d6b79036c
  19e920299d2c6fd5 b373b06b84d341e6 638aa6ef4ed88fbb e83b2971a6e3e173 eeacbd281a1f9359 238ad14143350eaf 342ff8b44ac931f3 fed7945cac4b6dd0
  33573dd3a4d15775 a4d213e37c14bebd 37dae631979b6783 25b2c29dd083656d 37c1aa76281f62e8 db5f24f99adcd4a3 c1fb2123645e316e 07abd87128f80e73
  e3cc50ccd4a7e53b 3638111fa28ad4c6 7d647651557d3b6b 1307f519d18640cf 612efa9f22d89657 ef071b2f29095102 e11e9ec606b92206 c6a33dec5c2d9fa8
  036bb5509779a213 c9e676ac30112dea 2573a4d3f8b237ba 0b41c04eb729c740 817f739cb26ceede 7912b720b900df10 0eafdb962e85ed24 418e6c162220c89b
  91f2e8e9fcf0a292 c42578ebd56cf252 c7b1b9cbd680bfdb a59458409d1d7be8 c11bab75430f4e52 87faa2d90b2f3044 a4a4882a57f79999 9e34c3ca65806c3f
  5e78e602676f8781 44853d7fa21c2c39 040cbff8c4c54ca5 aa57a520c5175c57 b85b86cb3768a28d 55b6baad185ecd3d 186313ac84c0926b 6efbc355e02ac77c
  a925ad024211f706 eec3a80168c6bf55 f0abab5e2c3290df 3f5a7ec71c29ef2a 4d809ca02e6110ca be7f48e6feebb049 c6c08f796adbd785 acadde2bb94f3602
  df812a924064ca66 617f1bd3145bd029 4752d331b105e16b da5c899e044cbd4c 81682ccacb6cd75b dc66a998dd69dcd7 dbe9f728b97ca58b 808fa48b96a247ba
  e3f7a4181fda6066 e9fe4ff80e13b1cd a64a472b97585ea4 e0730925ec4d6078 ce8ce1fc7d0e4882 cc0097625b5d3467 d14b556ec24314d0 c966c00cb663c101
  a79e2e0f919d1d01 c0e644d1481c56f1 10c186d9086f2d35 1a5d90675210fdaa fec51fbfacd64d49 c304bb18ebff9717 e7de21dfa03692ab c1bc7c2c91d4787a
  b881f94a60714932 f38797862a2b5abb 8e604fe549617b13 6355c466ab3fe48c 59a749df70f7fd40 b78be6f1ed40edb1 ab1c4c16dd9383f2 e226916fe0dade7a
  38baf5ea957a41b4 9d99a2bcf79da27d ba6a7c12a5776988 6def8b9111a06512 acdfe36cb7743247 bf3b4475ff7f6cde db23e1d6c535918d 6a897e5ebfeebf4b
  16f67ba9334b441a 1de876b3cb6ff413 a7b915c60c38f1da c0ba552f18f53340 ec07bfdd8dd5c80e 0a55f390015d5586 904cedc06c7974ac 20ef7fc66cefb5f0
  dd81cfae96caaa92 1b3f8a15b82d6b81 2ecf8b15829cda68 2640ed15b8924603 987e7a00bc0a1443 b7f8a6c5fe8bc544 85b01fc346e777dc 257bc88498f6e2f9
  0f5f8c2ee58c4a6e 36e6382ab38c2992 88672a611038208d d2b0019007738d36 911dcaa1199b3c02 ea212fbbbd372151 85fc9c1b3d777c5c 8c97701083197a1b
  dc52b6d63ee14d57 f2554988f4790c3b 6b49e5110d5dfbd9 a99cd591380bb44b 2f97fd0c0fc1291b 456754707cad2ff6 986f10fb6d115ace 87413dac07c7560d
`.trim().split(/\s+/);

let gear: { lo: Uint32Array; hi: Uint32Array } | undefined;

/** The gear table as 32-bit halves (`lo[i]`, `hi[i]`). */
export function gearTable(): { lo: Uint32Array; hi: Uint32Array } {
  if (gear) return gear;
  const lo = new Uint32Array(256);
  const hi = new Uint32Array(256);
  GEAR_HEX.forEach((hex, i) => {
    hi[i] = Number.parseInt(hex.slice(0, 8), 16);
    lo[i] = Number.parseInt(hex.slice(8), 16);
  });
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
