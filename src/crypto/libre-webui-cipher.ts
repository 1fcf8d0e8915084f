/**
 * Libre WebUI's field format, read (never written) to import its database:
 *
 *   ivhex ":" taghex ":" ciphertexthex
 *
 * AES-256-GCM under the raw 32-byte key its ENCRYPTION_KEY spells in 64 hex characters, a random
 * 16-byte IV, a 16-byte tag, no associated data, UTF-8 plaintext. Older rows hold plaintext.
 *
 * Threat: a value that looks encrypted but does not open (another key, a damaged row) must never
 * be taken for text, or ciphertext would be imported as someone's message. Libre WebUI itself
 * falls back to the stored text when decryption fails; this reader says `unopened` instead and the
 * import refuses. A value is taken as plaintext only when it is not in this format at all (a
 * 32-hex IV, a 32-hex tag, a hex body).
 */
import { createDecipheriv } from 'node:crypto'

/** What a stored value turned out to be. */
export type LibreValue = { kind: 'opened' | 'plain'; text: string } | { kind: 'unopened' }

// note: Libre WebUI's encrypt always writes a 32-hex IV and a 32-hex tag, so a plaintext row like
// "10:30:00" (which its own decrypt tries and gives back) is text; any body length still counts as
// sealed, so a truncated ciphertext is refused rather than taken for text.
const ENCRYPTED = /^([0-9a-fA-F]{32}):([0-9a-fA-F]{32}):([0-9a-fA-F]*)$/

/** Parses Libre WebUI's ENCRYPTION_KEY (64 hex characters) into its 32 key bytes, or null when it is not one. */
export function parseLibreKey(text: string): Uint8Array | null {
  const trimmed = text.trim()
  return /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : null
}

/** Tells whether a stored value is in the encrypted format (whatever its key). */
export function looksEncrypted(stored: string): boolean {
  return ENCRYPTED.test(stored)
}

/** Opens a stored value with the key (null: no key given); plaintext rows come back as they are. */
export function openLibreValue(stored: string, key: Uint8Array | null): LibreValue {
  const match = ENCRYPTED.exec(stored)
  if (match === null) return { kind: 'plain', text: stored }
  const [, ivHex, tagHex, bodyHex] = match as unknown as [string, string, string, string]
  if (key === null || bodyHex.length % 2 !== 0) return { kind: 'unopened' }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivHex, 'hex'), { authTagLength: 16 })
    decipher.setAuthTag(Buffer.from(tagHex, 'hex'))
    const plain = Buffer.concat([decipher.update(Buffer.from(bodyHex, 'hex')), decipher.final()])
    return { kind: 'opened', text: new TextDecoder('utf-8', { fatal: true }).decode(plain) }
  } catch {
    return { kind: 'unopened' }
  }
}
