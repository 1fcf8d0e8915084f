/**
 * Passphrase encryption of a whole file, streamed in chunks (used for backups):
 *
 *   "ENCLBKE1" | header length (u32 BE) | header JSON | chunk 0 | chunk 1 | ...
 *
 * The header holds the scrypt parameters and salt, the chunk size and a random nonce prefix. Each
 * chunk is AES-256-GCM with its own tag; its nonce is prefix (7 bytes) | chunk counter (u32 BE) |
 * last-chunk flag (1 byte), and the whole header is its associated data. Every chunk but the last
 * holds exactly chunkBytes of plaintext; the last holds fewer (possibly none). So chunks cannot be
 * reordered, dropped, truncated away or moved between files, and the header cannot be altered,
 * without a tag failing. Memory stays at one chunk whatever the file size. The key comes from scrypt
 * (memory-hard, 128 MiB by default) so a stolen backup resists passphrase guessing.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto'
import { closeSync, openSync, readSync } from 'node:fs'
import { encodeFramedHeader, readFramedHeader, writeAll } from './framed-header.ts'
import { deriveKeyFromPassphrase, DEFAULT_KDF_PARAMS, type KdfParams } from './key-derivation.ts'
import { generateBytes } from './random.ts'

export const ENCRYPTED_MAGIC = 'ENCLBKE1'
const CHUNK_BYTES = 64 * 1024
const TAG_BYTES = 16
const MAX_HEADER_BYTES = 4096

type StreamHeader = { format: 1; kdf: 'scrypt'; N: number; r: number; p: number; salt: string; chunkBytes: number; noncePrefix: string }

export type DecryptResult = { ok: true } | { ok: false; reason: 'not_encrypted' | 'malformed_header' | 'wrong_passphrase_or_damaged' | 'truncated' }

/** Encrypts the file at `inputPath` into a new file at `outputPath` (created 0600, must not exist). */
export function encryptFileWithPassphrase(inputPath: string, outputPath: string, passphrase: string, params: KdfParams = DEFAULT_KDF_PARAMS): void {
  const salt = generateBytes(16)
  const header: StreamHeader = {
    format: 1, kdf: 'scrypt', ...params, salt: Buffer.from(salt).toString('base64'), chunkBytes: CHUNK_BYTES,
    noncePrefix: Buffer.from(generateBytes(7)).toString('base64'),
  }
  const headerBytes = encodeHeader(header)
  const key = deriveKeyFromPassphrase(passphrase, salt, params)
  const input = openSync(inputPath, 'r')
  const output = openSync(outputPath, 'wx', 0o600)
  try {
    writeAll(output, headerBytes)
    const buffer = Buffer.allocUnsafe(CHUNK_BYTES)
    for (let counter = 0, position = 0; ; counter++, position += CHUNK_BYTES) {
      const read = readFully(input, buffer, position)
      const isLast = read < CHUNK_BYTES
      const cipher = createCipheriv('aes-256-gcm', key, nonceFor(header, counter, isLast))
      cipher.setAAD(headerBytes)
      writeAll(output, cipher.update(buffer.subarray(0, read)))
      cipher.final()
      writeAll(output, cipher.getAuthTag())
      if (isLast) break
    }
  } finally {
    closeSync(input)
    closeSync(output)
  }
}

/** Tells whether the file starts like a passphrase-encrypted file. */
export function isEncryptedFile(path: string): boolean {
  const fd = openSync(path, 'r')
  try {
    const magic = Buffer.alloc(8)
    return readSync(fd, magic, 0, 8, 0) === 8 && magic.toString('latin1') === ENCRYPTED_MAGIC
  } finally {
    closeSync(fd)
  }
}

/** Decrypts `inputPath` into a new file at `outputPath` (0600). On failure the partial output is the caller's to remove. */
export function decryptFileWithPassphrase(inputPath: string, outputPath: string, passphrase: string): DecryptResult {
  const input = openSync(inputPath, 'r')
  try {
    const parsed = readHeader(input)
    if (!parsed.ok) return parsed
    const { header, headerBytes } = parsed
    const key = deriveKeyFromPassphrase(passphrase, Buffer.from(header.salt, 'base64'), header)
    const output = openSync(outputPath, 'wx', 0o600)
    try {
      const buffer = Buffer.allocUnsafe(header.chunkBytes + TAG_BYTES)
      for (let counter = 0, position = headerBytes.length; ; counter++, position += buffer.length) {
        const read = readFully(input, buffer, position)
        if (read < TAG_BYTES) return { ok: false, reason: 'truncated' }
        const isLast = read < buffer.length
        const decipher = createDecipheriv('aes-256-gcm', key, nonceFor(header, counter, isLast))
        decipher.setAAD(headerBytes)
        decipher.setAuthTag(buffer.subarray(read - TAG_BYTES, read))
        const plain = decipher.update(buffer.subarray(0, read - TAG_BYTES))
        try {
          decipher.final()
        } catch {
          return { ok: false, reason: counter === 0 ? 'wrong_passphrase_or_damaged' : isLast ? 'truncated' : 'wrong_passphrase_or_damaged' }
        }
        writeAll(output, plain)
        if (isLast) return { ok: true }
      }
    } finally {
      closeSync(output)
    }
  } finally {
    closeSync(input)
  }
}

function encodeHeader(header: StreamHeader): Buffer {
  return encodeFramedHeader(ENCRYPTED_MAGIC, header)
}

function readHeader(fd: number): { ok: true; header: StreamHeader; headerBytes: Buffer } | { ok: false; reason: 'not_encrypted' | 'malformed_header' } {
  const framed = readFramedHeader(fd, ENCRYPTED_MAGIC, MAX_HEADER_BYTES)
  if (!framed.ok) return { ok: false, reason: framed.reason === 'wrong_magic' ? 'not_encrypted' : 'malformed_header' }
  const header = framed.value as StreamHeader
  // note: bounds on the KDF parameters keep a hostile header from asking for unbounded memory or time.
  const valid = header.format === 1 && header.kdf === 'scrypt' && [2 ** 14, 2 ** 15, 2 ** 16, 2 ** 17, 2 ** 18, 2 ** 19, 2 ** 20].includes(header.N)
    && header.r === 8 && header.p === 1 && typeof header.salt === 'string' && Buffer.from(header.salt, 'base64').length === 16
    && header.chunkBytes === CHUNK_BYTES && typeof header.noncePrefix === 'string' && Buffer.from(header.noncePrefix, 'base64').length === 7
  if (!valid) return { ok: false, reason: 'malformed_header' }
  return { ok: true, header, headerBytes: framed.bytes }
}

function nonceFor(header: StreamHeader, counter: number, isLast: boolean): Buffer {
  const nonce = Buffer.alloc(12)
  Buffer.from(header.noncePrefix, 'base64').copy(nonce, 0)
  nonce.writeUInt32BE(counter, 7)
  nonce[11] = isLast ? 1 : 0
  return nonce
}

/** Reads from `position` until the buffer is full or the file ends; returns the bytes read. */
export function readFully(fd: number, buffer: Buffer, position: number): number {
  let total = 0
  while (total < buffer.length) {
    const read = readSync(fd, buffer, total, buffer.length - total, position + total)
    if (read === 0) break
    total += read
  }
  return total
}
