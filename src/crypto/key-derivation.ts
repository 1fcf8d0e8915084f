import { createHmac, scryptSync, timingSafeEqual } from 'node:crypto'

/**
 * scrypt parameters for stretching a passphrase into the master key: 128 MiB of memory and about
 * half a second on a small server, run once per start. Stored with the salt so they can be raised.
 */
export type KdfParams = { readonly N: number; readonly r: number; readonly p: number }
export const DEFAULT_KDF_PARAMS: KdfParams = { N: 2 ** 17, r: 8, p: 1 }

/** Stretches a passphrase into a 256-bit key with scrypt and the database's salt. */
export function deriveKeyFromPassphrase(passphrase: string, salt: Uint8Array, params: KdfParams): Uint8Array {
  const maxmem = 128 * params.N * params.r * params.p + 16 * 1024 * 1024
  return new Uint8Array(scryptSync(passphrase.normalize('NFC'), salt, 32, { ...params, maxmem }))
}

/** Derives a purpose-bound value from a key (HMAC-SHA256), so the key itself is never stored or shown. */
export function deriveFromKey(key: Uint8Array, purpose: string): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(`enclave/${purpose}`).digest())
}

/** Names a key without revealing it: 16 hex digits in four groups, e.g. 1a2b-3c4d-5e6f-7a8b. */
export function keyFingerprint(key: Uint8Array): string {
  const hex = Buffer.from(deriveFromKey(key, 'key-fingerprint/v1').subarray(0, 8)).toString('hex')
  return hex.match(/.{4}/g)!.join('-')
}

/** The value kept in the database to recognise the key it was written with. */
export function keyCheckValue(key: Uint8Array): Uint8Array {
  return deriveFromKey(key, 'key-check/v1')
}

/** Compares two byte strings in time independent of where they differ. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}
