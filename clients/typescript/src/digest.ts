/**
 * BLAKE3, the digest of every chunk and artifact: lowercase hex of the 32-byte hash.
 *
 * @module
 */
import { blake3 } from "@noble/hashes/blake3.js";
import { bytesToHex } from "@noble/hashes/utils.js";

/** BLAKE3 of `bytes`, lowercase hex (64 characters), as in `Artifact.contentDigest`. */
export function blake3Hex(bytes: Uint8Array): string {
  return bytesToHex(blake3(bytes));
}

/** BLAKE3 of bytes that arrive in pieces, with their count: what a verified download computes. */
export class DigestCounter {
  readonly #hash = blake3.create();
  /** Bytes added so far. */
  size = 0;

  /** Adds one piece; an arrow function, so it can be passed as a download sink. */
  readonly update = (chunk: Uint8Array): void => {
    this.#hash.update(chunk);
    this.size += chunk.length;
  };

  /** The BLAKE3 hex of everything added. */
  digest(): string {
    return bytesToHex(this.#hash.digest());
  }
}
