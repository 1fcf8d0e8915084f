/**
 * Field cipher: the one format in which Enclave stores a sensitive value.
 *
 *   byte 0      format version (1)
 *   bytes 1-4   key version, unsigned 32-bit big-endian
 *   bytes 5-16  nonce, 96 random bits, fresh for every seal
 *   then        AES-256-GCM ciphertext, followed by its 128-bit tag
 *
 * Associated data binds the ciphertext to where it lives: format version, table, column, row id and
 * key version, each length-prefixed so no two contexts encode alike. Threat: someone who can read or
 * edit the database file but does not hold the key. They learn lengths and which fields are empty,
 * nothing else; a ciphertext flipped, truncated, or moved to another row, column or owner (whose
 * data key differs) fails to open. Invariant: no nonce is reused under a key, which random 96-bit
 * nonces give for far more than 2^32 seals per key.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto'

export const FIELD_FORMAT_VERSION = 1
const HEADER_BYTES = 1 + 4 + 12
const TAG_BYTES = 16
export const FIELD_OVERHEAD_BYTES = HEADER_BYTES + TAG_BYTES
const COPY_LIMIT_BYTES = 16 * 1024

/** A 256-bit AES key and the version number stored with everything sealed under it. */
export type VersionedKey = { readonly version: number; readonly key: Uint8Array }

/** Where a sealed value lives. Table and column are identifiers; the row id is any text. */
export type FieldContext = { readonly table: string; readonly column: string; readonly rowId: string }

/** Encrypts plaintext (bytes, or text as UTF-8) for one table, column and row under the given key. */
export function sealField(key: VersionedKey, plaintext: Uint8Array | string, context: FieldContext): Uint8Array {
  const nonce = crypto.getRandomValues(new Uint8Array(12)) // the OS CSPRNG, without node's slower wrapper
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce)
  cipher.setAAD(associatedData(context, key.version))
  const body = typeof plaintext === 'string' ? cipher.update(plaintext, 'utf8') : cipher.update(plaintext)
  cipher.final() // GCM emits nothing here; it completes the tag
  const sealed = Buffer.allocUnsafe(HEADER_BYTES + body.length + TAG_BYTES)
  sealed[0] = FIELD_FORMAT_VERSION
  sealed.writeUInt32BE(key.version, 1)
  sealed.set(nonce, 5)
  sealed.set(body, HEADER_BYTES)
  sealed.set(cipher.getAuthTag(), HEADER_BYTES + body.length)
  return sealed
}

/** Reads the key version a sealed value names, or null when it is not in a known format. */
export function sealedKeyVersion(sealed: Uint8Array): number | null {
  if (sealed.length < FIELD_OVERHEAD_BYTES || sealed[0] !== FIELD_FORMAT_VERSION) return null
  return ((sealed[1]! << 24) | (sealed[2]! << 16) | (sealed[3]! << 8) | sealed[4]!) >>> 0
}

/**
 * Decrypts a sealed value for the context it was sealed for. Returns null when it does not
 * authenticate (wrong key, wrong place, or altered); a wrong key is never mistaken for plaintext.
 */
export function openField(key: VersionedKey, sealed: Uint8Array, context: FieldContext): Buffer | null {
  if (sealedKeyVersion(sealed) !== key.version) return null
  // note: a small value's parts are copied, not viewed: the first view of an array read from SQLite
  // costs more than copying a few kilobytes (Bun gives the array its own buffer object then).
  const isSmall = sealed.length <= COPY_LIMIT_BYTES
  const part = (start: number, end?: number) => (isSmall ? sealed.slice(start, end) : sealed.subarray(start, end))
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, part(5, HEADER_BYTES))
    decipher.setAAD(associatedData(context, key.version))
    decipher.setAuthTag(part(sealed.length - TAG_BYTES))
    const body = decipher.update(part(HEADER_BYTES, sealed.length - TAG_BYTES))
    decipher.final() // throws when the tag does not match
    return body
  } catch {
    return null
  }
}

// Each part is prefixed with its UTF-8 byte length. Lone surrogates are refused, because UTF-8
// encoding would turn them into U+FFFD and let two different contexts encode alike. The table and
// column part is encoded once per place and cached; only the row id and version are written per call.
const prefixCache = new Map<string, Buffer>()

function associatedData({ table, column, rowId }: FieldContext, keyVersion: number): Buffer {
  const cacheKey = `${table}\0${column}`
  let prefix = prefixCache.get(cacheKey)
  if (prefix === undefined) {
    prefix = Buffer.from(lengthPrefixed(`v${FIELD_FORMAT_VERSION}`) + lengthPrefixed(table) + lengthPrefixed(column), 'utf8')
    prefixCache.set(cacheKey, prefix)
  }
  const version = String(keyVersion)
  // note: an ASCII row id (numbers, UUIDs, `chat/message`) is its own UTF-8, one byte a character: no well-formedness or length pass.
  const isAscii = ASCII.test(rowId)
  const tail = `${isAscii ? `${rowId.length}:${rowId}` : lengthPrefixed(rowId)}${version.length}:${version}`
  const aad = Buffer.allocUnsafe(prefix.length + (isAscii ? tail.length : Buffer.byteLength(tail, 'utf8')))
  prefix.copy(aad, 0)
  aad.write(tail, prefix.length, isAscii ? 'latin1' : 'utf8')
  return aad
}

const ASCII = /^[\x00-\x7f]*$/

function lengthPrefixed(part: string): string {
  if (!part.isWellFormed()) throw new TypeError('A field context must be well-formed Unicode.')
  return `${Buffer.byteLength(part, 'utf8')}:${part}`
}
