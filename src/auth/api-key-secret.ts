import { createHash } from 'node:crypto'

export const API_KEY_PREFIX = 'sk-'

/** Makes a new API key: `sk-` and 32 random bytes (256 bits) in base64url. */
export function generateApiKey(): string {
  return API_KEY_PREFIX + Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url')
}

/** The SHA-256 under which a key is stored and looked up; the key itself is never stored. */
export function hashApiKey(key: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(key).digest())
}

/** Tells an API key from a session token by its shape. */
export function looksLikeApiKey(credential: string): boolean {
  return credential.startsWith(API_KEY_PREFIX)
}
