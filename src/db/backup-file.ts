/**
 * The backup file format (before optional passphrase encryption, src/crypto/stream-cipher.ts):
 *
 *   "ENCLBKP1" | header length (u32 BE) | header JSON | SQLite database bytes
 *
 * The header names the format version, the database's schema version, the fingerprint of the
 * master key it was written under, the creation time and the SHA-256 and length of the database
 * bytes. The database inside stays encrypted field by field: a backup is no more readable than the
 * database, and restoring it needs the same master key.
 */
import { createHash } from 'node:crypto'
import { closeSync, openSync, readSync, statSync } from 'node:fs'
import { encodeFramedHeader, readFramedHeader, writeAll } from '../crypto/framed-header.ts'

export const BACKUP_MAGIC = 'ENCLBKP1'
export const BACKUP_FORMAT_VERSION = 1
const MAX_HEADER_BYTES = 4096
const COPY_CHUNK_BYTES = 1024 * 1024

export type BackupHeader = {
  format: number
  schemaVersion: number
  keyFingerprint: string
  /** ISO 8601. */
  createdAt: string
  databaseBytes: number
  sha256: string
}

export type ReadHeaderResult =
  | { ok: true; header: BackupHeader; payloadOffset: number }
  | { ok: false; reason: 'not_a_backup' | 'malformed_header' | 'unknown_format' }

/** Writes a backup file (new, 0600) from a database file: header, then the database bytes. */
export function writeBackupFile(databasePath: string, outputPath: string, facts: Omit<BackupHeader, 'format' | 'databaseBytes' | 'sha256'>): BackupHeader {
  const databaseBytes = statSync(databasePath).size
  const header: BackupHeader = { format: BACKUP_FORMAT_VERSION, ...facts, databaseBytes, sha256: hashFile(databasePath, 0, databaseBytes) }
  const output = openSync(outputPath, 'wx', 0o600)
  try {
    writeAll(output, encodeFramedHeader(BACKUP_MAGIC, header))
    copyRange(databasePath, 0, databaseBytes, output)
  } finally {
    closeSync(output)
  }
  return header
}

/** Reads and checks the header of a backup file (not yet the checksum). */
export function readBackupHeader(path: string): ReadHeaderResult {
  const fd = openSync(path, 'r')
  try {
    const framed = readFramedHeader(fd, BACKUP_MAGIC, MAX_HEADER_BYTES)
    if (!framed.ok) return { ok: false, reason: framed.reason === 'wrong_magic' ? 'not_a_backup' : 'malformed_header' }
    const header = framed.value as BackupHeader
    if (typeof header.format !== 'number') return { ok: false, reason: 'malformed_header' }
    if (header.format !== BACKUP_FORMAT_VERSION) return { ok: false, reason: 'unknown_format' }
    const valid = Number.isSafeInteger(header.schemaVersion) && header.schemaVersion >= 1 && typeof header.keyFingerprint === 'string'
      && /^[0-9a-f]{4}(-[0-9a-f]{4}){3}$/.test(header.keyFingerprint) && typeof header.createdAt === 'string'
      && Number.isSafeInteger(header.databaseBytes) && header.databaseBytes > 0 && typeof header.sha256 === 'string' && /^[0-9a-f]{64}$/.test(header.sha256)
    return valid ? { ok: true, header, payloadOffset: framed.bytes.length } : { ok: false, reason: 'malformed_header' }
  } finally {
    closeSync(fd)
  }
}

/** Tells whether the payload has the header's length and checksum. */
export function payloadMatchesChecksum(path: string, header: BackupHeader, payloadOffset: number): boolean {
  return statSync(path).size === payloadOffset + header.databaseBytes && hashFile(path, payloadOffset, header.databaseBytes) === header.sha256
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
