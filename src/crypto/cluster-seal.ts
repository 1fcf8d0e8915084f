/**
 * Sealing for everything that passes through Redis between instances (docs/several-instances.md).
 * Threat: whoever reads Redis (a shared cache, its dump file, MONITOR, a backup of it) must learn
 * nothing of the users: no message, title, delta, user id or email.
 *
 * Keys: HKDF-SHA256 from the master key (salt "enclave cluster", info per purpose), so every
 * instance with the same master key derives the same keys and nobody without it can:
 * - `sealKey` (AES-256-GCM) seals each message: `v1.` + base64url(nonce(12) | ciphertext | tag(16)),
 *   with the channel or key name as AAD, so a message moved to another name does not open;
 * - `nameKey` (HMAC-SHA256) turns a user id or an email into the part of a key name that stands
 *   for it (`nameTagOf`), so names carry no personal data yet still address one user.
 * Invariant: a message that does not open (another key, altered, moved) is refused, never read.
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto'

export type ClusterKeys = { readonly sealKey: Uint8Array; readonly nameKey: Uint8Array }

const VERSION = 'v1.'
const NONCE_BYTES = 12
const TAG_BYTES = 16

/** Derives the cluster keys from the master key; the same master key gives the same keys on every instance. */
export function deriveClusterKeys(masterKey: Uint8Array): ClusterKeys {
  const derive = (purpose: string) => new Uint8Array(hkdfSync('sha256', masterKey, 'enclave cluster', purpose, 32))
  return Object.freeze({ sealKey: derive('seal/v1'), nameKey: derive('names/v1') })
}

/** Seals `plaintext` for the channel or key `name`; the result is safe to store in Redis. */
export function sealForCluster(keys: ClusterKeys, name: string, plaintext: string): string {
  const nonce = randomBytes(NONCE_BYTES)
  const cipher = createCipheriv('aes-256-gcm', keys.sealKey, nonce)
  cipher.setAAD(Buffer.from(name))
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
  return VERSION + Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url')
}

/** Opens what `sealForCluster` sealed for the same name; null when it does not open (another key, altered, moved). */
export function openFromCluster(keys: ClusterKeys, name: string, sealed: string): string | null {
  if (!sealed.startsWith(VERSION)) return null
  const bytes = Buffer.from(sealed.slice(VERSION.length), 'base64url')
  if (bytes.length < NONCE_BYTES + TAG_BYTES) return null
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.sealKey, bytes.subarray(0, NONCE_BYTES))
    decipher.setAAD(Buffer.from(name))
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES))
    return Buffer.concat([decipher.update(bytes.subarray(NONCE_BYTES, bytes.length - TAG_BYTES)), decipher.final()]).toString('utf8')
  } catch {
    return null
  }
}

/** The part of a key name standing for a user id, an email or an address: a keyed hash, 32 hex digits. */
export function nameTagOf(keys: ClusterKeys, value: string): string {
  return createHmac('sha256', keys.nameKey).update(value).digest('hex').slice(0, 32)
}
