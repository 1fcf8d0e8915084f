/**
 * Blind index: a keyed HMAC-SHA256 of a normalised value, stored beside the sealed value so that
 * lookups and uniqueness work without the value in the clear. The index key is a random key of its
 * own (kept wrapped like a data key), so the index reveals only which rows share a value.
 */
import { createHmac } from 'node:crypto'

/** Computes the 32-byte index of an already-normalised value. */
export function blindIndex(indexKey: Uint8Array, purpose: string, normalisedValue: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', indexKey).update(`${purpose}\0${normalisedValue}`).digest())
}
