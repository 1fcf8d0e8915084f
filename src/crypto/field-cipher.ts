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

/** A 256-bit AES key and the version number stored with everything sealed under it. */
export type VersionedKey = { readonly version: number; readonly key: Uint8Array }

/**
 * Where a sealed value lives. Table and column are identifiers; the row id is any text, or a number,
 * which binds exactly as its text, String(rowId), does (`7` as `'7'`).
 */
export type FieldContext = { readonly table: string; readonly column: string; readonly rowId: string | number }

/** Encrypts plaintext (bytes, or text as UTF-8) for one table, column and row under the given key. */
export function sealField(key: VersionedKey, plaintext: Uint8Array | string, context: FieldContext): Uint8Array {
  // note: a fresh draw per seal, no pool: 12 bytes cost 17 ns (no system call per call), while handing
  // out slices of a block drawn ahead measured 49 ns, and a pool is state that must never be shared
  // by two processes or outlive a fork, where two copies would hand out the same nonces.
  const nonce = crypto.getRandomValues(scratch.nonce) // the OS CSPRNG, without node's slower wrapper
  const cipher = createCipheriv('aes-256-gcm', key.key, nonce)
  cipher.setAAD(associatedData(context, key.version))
  const body = cipher.update(typeof plaintext === 'string' ? utf8Bytes(plaintext) : plaintext)
  cipher.final() // GCM emits nothing here; it completes the tag
  const sealed = storedValue(HEADER_BYTES + body.length + TAG_BYTES) // every byte is written below
  const { version } = key
  sealed[0] = FIELD_FORMAT_VERSION
  sealed[1] = version >>> 24
  sealed[2] = version >>> 16
  sealed[3] = version >>> 8
  sealed[4] = version
  sealed.set(nonce, 5)
  sealed.set(body, HEADER_BYTES)
  sealed.set(cipher.getAuthTag(), HEADER_BYTES + body.length)
  return sealed
}

// note: the nonce, the tag and text to seal (as UTF-8) are written into arrays made once and reused,
// rather than new ones per call: the cipher reads each before this module writes it again, as every
// call here is synchronous. Text longer than the text buffer gets its own.
const scratch = { nonce: new Uint8Array(12), tag: new Uint8Array(TAG_BYTES) }
const textBuffer = Buffer.alloc(48 * 1024)

function utf8Bytes(text: string): Uint8Array {
  if (text.length * 3 > textBuffer.length) return Buffer.from(text, 'utf8')
  return textBuffer.subarray(0, textBuffer.write(text, 0, 'utf8'))
}

// note: a sealed value of up to 4 KB is a view into an 8 KB array shared with the values sealed
// just before and after it, as Node's Buffer.allocUnsafe pools small buffers: an array of its own
// (over 1,000 bytes, past the JS heap's inline arrays) cost ~3% of a 1 KB seal+open. Views
// never overlap and each is written whole before it is returned, so no value shows another's
// bytes; the engines bind a view as the bytes it views (test/helpers/engine-contract.ts). A value
// kept long keeps its 8 KB array alive, which for ciphertext headed to the database is brief.
const SLAB_BYTES = 8 * 1024
const SLAB_MAX_VALUE = 4 * 1024
let slab = new ArrayBuffer(SLAB_BYTES)
let slabUsed = 0

/** A new array of `length` bytes for a sealed value: a view into the shared array when small. */
function storedValue(length: number): Uint8Array {
  if (length > SLAB_MAX_VALUE) return new Uint8Array(length)
  if (slabUsed + length > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES)
    slabUsed = 0
  }
  const value = new Uint8Array(slab, slabUsed, length)
  slabUsed += (length + 7) & ~7
  return value
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
  const { nonce, tag } = scratch
  for (let i = 0; i < nonce.length; i++) nonce[i] = sealed[5 + i]!
  const tagAt = sealed.length - TAG_BYTES
  for (let i = 0; i < TAG_BYTES; i++) tag[i] = sealed[tagAt + i]!
  try {
    const decipher = createDecipheriv('aes-256-gcm', key.key, nonce)
    decipher.setAAD(associatedData(context, key.version))
    decipher.setAuthTag(tag)
    const body = decipher.update(sealed.subarray(HEADER_BYTES, sealed.length - TAG_BYTES))
    decipher.final() // throws when the tag does not match
    return body
  } catch {
    return null
  }
}

// Each part is prefixed with its UTF-8 byte length. Lone surrogates are refused, because UTF-8
// encoding would turn them into U+FFFD and let two different contexts encode alike. Each place
// (table and column) has an array holding its encoded prefix, made once; a call writes an ASCII row
// id and the key version after it and hands the cipher a view (one per length, kept), which setAAD
// consumes before the array is written again (everything here is synchronous). A long or non-ASCII
// row id gets an array of its own.
type Place = { readonly bytes: Uint8Array; readonly prefixBytes: number; readonly views: Uint8Array[] }
const places = new Map<string, Map<string, Place>>()
const PLACE_ROW_ID_CHARS = 200

function placeOf(table: string, column: string): Place {
  let columns = places.get(table)
  if (columns === undefined) places.set(table, (columns = new Map()))
  let place = columns.get(column)
  if (place === undefined) {
    const prefix = Buffer.from(lengthPrefixed(`v${FIELD_FORMAT_VERSION}`) + lengthPrefixed(table) + lengthPrefixed(column), 'utf8')
    const bytes = new Uint8Array(prefix.length + PLACE_ROW_ID_CHARS + 32)
    bytes.set(prefix, 0)
    place = { bytes, prefixBytes: prefix.length, views: [] }
    columns.set(column, place)
  }
  return place
}

/** Writes ASCII text at `at`; returns the end, or -1 at the first character past ASCII. */
function writeAscii(bytes: Uint8Array, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code > 0x7f) return -1
    bytes[at++] = code
  }
  return at
}

function associatedData({ table, column, rowId }: FieldContext, keyVersion: number): Uint8Array {
  const place = placeOf(table, column)
  const { bytes, prefixBytes } = place
  // note: an ASCII row id (numbers, UUIDs, `chat/message`) is its own UTF-8, one byte a character: no well-formedness or length pass.
  // note: the lengths and the key version go in as decimal digits written straight into the array, with
  // no strings made: a seal+open of 1 KB through sealedTable took 7-11% less time (3 interleaved runs).
  // An integer row id is written the same way, as the digits its decimal text holds.
  // Any other number binds as String() writes it, as before numbers were taken.
  let end: number
  if (typeof rowId === 'number' && Number.isSafeInteger(rowId) && rowId >= 0) {
    end = writeDecimal(bytes, writeLengthPrefix(bytes, prefixBytes, decimalDigits(rowId)), rowId)
  } else {
    const text = String(rowId)
    end = text.length <= PLACE_ROW_ID_CHARS ? writeAscii(bytes, writeLengthPrefix(bytes, prefixBytes, text.length), text) : -1
  }
  if (end !== -1) {
    end = writeDecimal(bytes, writeLengthPrefix(bytes, end, decimalDigits(keyVersion)), keyVersion)
    return (place.views[end] ??= bytes.subarray(0, end))
  }
  const version = String(keyVersion)
  const tail = Buffer.from(lengthPrefixed(String(rowId)) + `${version.length}:${version}`, 'utf8')
  const aad = new Uint8Array(prefixBytes + tail.length)
  aad.set(bytes.subarray(0, prefixBytes), 0)
  aad.set(tail, prefixBytes)
  return aad
}

/** Writes `length:` (the length in decimal, then a colon) at `at`; returns the end. */
function writeLengthPrefix(bytes: Uint8Array, at: number, length: number): number {
  at = writeDecimal(bytes, at, length)
  bytes[at] = 0x3a // ':'
  return at + 1
}

/** Writes a non-negative safe integer in decimal ASCII at `at`; returns the end. */
function writeDecimal(bytes: Uint8Array, at: number, value: number): number {
  const end = at + decimalDigits(value)
  for (let i = end - 1; i >= at; i--) {
    bytes[i] = 0x30 + (value % 10)
    value = Math.floor(value / 10)
  }
  return end
}

function decimalDigits(value: number): number {
  let digits = 1
  while (value >= 10) {
    value = Math.floor(value / 10)
    digits++
  }
  return digits
}

function lengthPrefixed(part: string): string {
  if (!part.isWellFormed()) throw new TypeError('A field context must be well-formed Unicode.')
  return `${Buffer.byteLength(part, 'utf8')}:${part}`
}
