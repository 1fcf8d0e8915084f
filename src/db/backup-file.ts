/**
 * The backup file format (before optional passphrase encryption, src/crypto/stream-cipher.ts):
 *
 *   "ENCLBKP1" | header length (u32 BE) | header JSON | SQLite database bytes | file blobs
 *
 * The header names the format version, the database's schema version, the fingerprint of the
 * master key it was written under, the creation time, the lengths of the database bytes and of the
 * file blobs section, and the SHA-256 of both together. The blobs section (format 2; format 1 has
 * none) is a run of records, one per uploaded file: its id (36 ASCII bytes), its length (u64 BE),
 * then its blob as stored (still encrypted under the file's key, src/crypto/chunk-cipher.ts).
 * Everything inside stays encrypted: a backup is no more readable than DATA_DIR, and restoring it
 * needs the same master key.
 */
import { createHash } from 'node:crypto'
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { encodeFramedHeader, readFramedHeader, writeAll } from '../crypto/framed-header.ts'

export const BACKUP_MAGIC = 'ENCLBKP1'
export const BACKUP_FORMAT_VERSION = 2
const KNOWN_FORMATS = new Set([1, BACKUP_FORMAT_VERSION])
const BLOB_ID_BYTES = 36
const blobIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const MAX_HEADER_BYTES = 4096
const COPY_CHUNK_BYTES = 1024 * 1024

export type BackupHeader = {
  format: number
  schemaVersion: number
  keyFingerprint: string
  /** ISO 8601. */
  createdAt: string
  databaseBytes: number
  /** Length of the file blobs section after the database (0, or absent in format 1, when none). */
  filesBytes?: number
  /** SHA-256 of the database bytes and the file blobs section together. */
  sha256: string
}

/** A stored file's blob to carry in a backup: its id and where it is. */
export type BackupBlob = { id: string; path: string }

export type ReadHeaderResult =
  | { ok: true; header: BackupHeader; payloadOffset: number }
  | { ok: false; reason: 'not_a_backup' | 'malformed_header' | 'unknown_format' }

/** Writes a backup file (new, 0600) from a database file and the blobs of its files: header, database bytes, blobs. */
export function writeBackupFile(databasePath: string, outputPath: string, facts: Omit<BackupHeader, 'format' | 'databaseBytes' | 'filesBytes' | 'sha256'>, blobs: readonly BackupBlob[] = []): BackupHeader {
  const databaseBytes = statSync(databasePath).size
  const sizes = blobs.map((blob) => {
    if (!blobIdPattern.test(blob.id)) throw new Error('a blob id must be a file id')
    return statSync(blob.path).size
  })
  const filesBytes = sizes.reduce((sum, size) => sum + BLOB_ID_BYTES + 8 + size, 0)
  const hash = createHash('sha256')
  const records = (use: (chunk: Uint8Array) => void) => {
    blobs.forEach((blob, index) => {
      const prefix = Buffer.alloc(BLOB_ID_BYTES + 8)
      prefix.write(blob.id, 0, 'latin1')
      prefix.writeBigUInt64BE(BigInt(sizes[index]!), BLOB_ID_BYTES)
      use(prefix)
      forEachChunk(blob.path, 0, sizes[index]!, use)
    })
  }
  forEachChunk(databasePath, 0, databaseBytes, (chunk) => hash.update(chunk))
  records((chunk) => hash.update(chunk))
  const header: BackupHeader = { format: BACKUP_FORMAT_VERSION, ...facts, databaseBytes, filesBytes, sha256: hash.digest('hex') }
  const output = openSync(outputPath, 'wx', 0o600)
  try {
    writeAll(output, encodeFramedHeader(BACKUP_MAGIC, header))
    copyRange(databasePath, 0, databaseBytes, output)
    records((chunk) => writeAll(output, chunk))
  } finally {
    closeSync(output)
  }
  return header
}

/**
 * Writes the blobs of a backup's files section into `dir` (0600 each), keeping only those `isWanted`
 * says belong to the restored database. Returns how many were written; throws on a malformed section.
 */
export function extractBlobs(path: string, header: BackupHeader, payloadOffset: number, dir: string, isWanted: (id: string) => boolean): number {
  const end = payloadOffset + header.databaseBytes + (header.filesBytes ?? 0)
  const fd = openSync(path, 'r')
  let written = 0
  try {
    for (let at = payloadOffset + header.databaseBytes; at < end;) {
      const prefix = Buffer.alloc(BLOB_ID_BYTES + 8)
      if (readSync(fd, prefix, 0, prefix.length, at) !== prefix.length) throw new Error('the backup\'s files section is truncated')
      const id = prefix.toString('latin1', 0, BLOB_ID_BYTES)
      const length = Number(prefix.readBigUInt64BE(BLOB_ID_BYTES))
      if (!blobIdPattern.test(id) || at + prefix.length + length > end) throw new Error('the backup\'s files section is malformed')
      if (isWanted(id)) {
        const output = openSync(join(dir, id), 'wx', 0o600)
        try {
          copyRange(path, at + prefix.length, length, output)
        } finally {
          closeSync(output)
        }
        written++
      }
      at += prefix.length + length
    }
  } finally {
    closeSync(fd)
  }
  return written
}

/** Reads and checks the header of a backup file (not yet the checksum). */
export function readBackupHeader(path: string): ReadHeaderResult {
  const fd = openSync(path, 'r')
  try {
    const framed = readFramedHeader(fd, BACKUP_MAGIC, MAX_HEADER_BYTES)
    if (!framed.ok) return { ok: false, reason: framed.reason === 'wrong_magic' ? 'not_a_backup' : 'malformed_header' }
    const header = framed.value as BackupHeader
    if (typeof header.format !== 'number') return { ok: false, reason: 'malformed_header' }
    if (!KNOWN_FORMATS.has(header.format)) return { ok: false, reason: 'unknown_format' }
    const valid = Number.isSafeInteger(header.schemaVersion) && header.schemaVersion >= 1 && typeof header.keyFingerprint === 'string'
      && /^[0-9a-f]{4}(-[0-9a-f]{4}){3}$/.test(header.keyFingerprint) && typeof header.createdAt === 'string'
      && Number.isSafeInteger(header.databaseBytes) && header.databaseBytes > 0 && typeof header.sha256 === 'string' && /^[0-9a-f]{64}$/.test(header.sha256)
      && (header.format === 1 ? header.filesBytes === undefined : Number.isSafeInteger(header.filesBytes) && header.filesBytes! >= 0)
    return valid ? { ok: true, header, payloadOffset: framed.bytes.length } : { ok: false, reason: 'malformed_header' }
  } finally {
    closeSync(fd)
  }
}

/** Tells whether the payload has the header's length and checksum. */
export function payloadMatchesChecksum(path: string, header: BackupHeader, payloadOffset: number): boolean {
  const length = header.databaseBytes + (header.filesBytes ?? 0)
  return statSync(path).size === payloadOffset + length && hashFile(path, payloadOffset, length) === header.sha256
}

/** Copies the database bytes out of a backup into a new file (0600). */
export function extractPayload(path: string, payloadOffset: number, length: number, outputPath: string): void {
  const output = openSync(outputPath, 'wx', 0o600)
  try {
    copyRange(path, payloadOffset, length, output)
  } finally {
    closeSync(output)
  }
}

function hashFile(path: string, offset: number, length: number): string {
  const hash = createHash('sha256')
  forEachChunk(path, offset, length, (chunk) => hash.update(chunk))
  return hash.digest('hex')
}

function copyRange(path: string, offset: number, length: number, output: number): void {
  forEachChunk(path, offset, length, (chunk) => writeAll(output, chunk))
}

function forEachChunk(path: string, offset: number, length: number, use: (chunk: Buffer) => void): void {
  const fd = openSync(path, 'r')
  const buffer = Buffer.allocUnsafe(COPY_CHUNK_BYTES)
  try {
    for (let done = 0; done < length;) {
      const read = readSync(fd, buffer, 0, Math.min(buffer.length, length - done), offset + done)
      if (read === 0) throw new Error(`unexpected end of ${path}`)
      use(buffer.subarray(0, read))
      done += read
    }
  } finally {
    closeSync(fd)
  }
}
