/**
 * The encrypted bytes of uploaded files, one file each in DATA_DIR/files (0700, files 0600), named
 * by the file's random id: never by anything a user sent. The format and its threat are in
 * src/crypto/chunk-cipher.ts. A blob is written under a temporary name and renamed into place only
 * complete and synced; what a crash leaves (a temporary file, a blob whose row was never committed)
 * is removed by sweepOrphans at the next start, once older than a grace period (FILES_ORPHAN_GRACE_MS). Measured on this machine: files reach about 1 GB/s
 * through encryption, SQLite BLOB rows about 140 MB/s, so the bytes live here, not in the database.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, mkdtempSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync, writevSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { FILE_CHUNK_BYTES, FILE_MAGIC, FileChunkError, openChunk, SEALED_CHUNK_BYTES, sealChunkParts } from '../crypto/chunk-cipher.ts'
import { writeAll } from '../crypto/framed-header.ts'
import { readFully } from '../crypto/stream-cipher.ts'

export const FILES_DIRECTORY = 'files'
/** How long a blob or temporary file no row claims is left alone: an upload in progress, maybe another instance's on a shared volume. */
export const FILES_ORPHAN_GRACE_MS = 60 * 60 * 1000
const TEMPORARY_PREFIX = '.upload-'
const namePattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Why a write stopped before its end: the caller's limit said so. */
export type WriteStop = { stop: true; reason: string }

export type WriteResult = { ok: true; size: number } | { ok: false; reason: string }

/** Opens the blob directory `dir` (created 0700 when first written), or a private temporary one when null (in-memory stores). */
export function createFileBlobs(dir: string | null) {
  let root = dir
  const directory = () => {
    root ??= mkdtempSync(join(tmpdir(), 'enclave-files-'))
    if (!existsSync(root)) mkdirSync(root, { recursive: true, mode: 0o700 })
    return root
  }
  const pathOf = (fileId: string) => {
    if (!namePattern.test(fileId)) throw new Error('a blob name must be a file id')
    return join(directory(), fileId)
  }

  return {
    /** The directory holding the blobs (for backups and tests). */
    directory,

    /**
     * Encrypts `source` into the blob of `fileId` under `key`, chunk by chunk. `admit(total)` is asked
     * after each piece with the plaintext bytes so far and may stop the write (a size or quota limit);
     * a stopped or failed write leaves nothing behind. The blob appears only complete.
     */
    async write(fileId: string, key: Uint8Array, source: AsyncIterable<Uint8Array>, admit: (total: number) => WriteStop | null): Promise<WriteResult> {
      const target = pathOf(fileId)
      // note: named by the file id (random, used once), so a sweep can tell whose upload it is.
      const temporary = join(directory(), `${TEMPORARY_PREFIX}${fileId}`)
      const fd = openSync(temporary, 'wx', 0o600)
      let renamed = false
      try {
        writeAll(fd, Buffer.from(FILE_MAGIC, 'latin1'))
        const buffer = Buffer.allocUnsafe(FILE_CHUNK_BYTES)
        let filled = 0
        let index = 0
        let total = 0
        for await (const piece of source) {
          total += piece.byteLength
          const stop = admit(total)
          if (stop !== null) return { ok: false, reason: stop.reason }
          for (let offset = 0; offset < piece.byteLength;) {
            const taken = Math.min(FILE_CHUNK_BYTES - filled, piece.byteLength - offset)
            buffer.set(piece.subarray(offset, offset + taken), filled)
            filled += taken
            offset += taken
            // note: a full chunk is never the last one (the last holds fewer bytes), so it is sealed at once.
            if (filled === FILE_CHUNK_BYTES) {
              writeParts(fd, sealChunkParts(key, fileId, index++, false, buffer))
              filled = 0
            }
          }
        }
        writeParts(fd, sealChunkParts(key, fileId, index, true, buffer.subarray(0, filled)))
        fsyncSync(fd)
        closeSync(fd)
        renameSync(temporary, target)
        renamed = true
        return { ok: true, size: total }
      } finally {
        if (!renamed) {
          try { closeSync(fd) } catch { /* already closed */ }
          rmSync(temporary, { force: true })
        }
      }
    },

    /**
     * Yields the decrypted bytes of `fileId`'s blob chunk by chunk, from chunk `fromChunk` on (each
     * chunk is bound to its index, so starting later still detects a moved or cut chunk); throws
     * FileChunkError when any chunk read fails to open.
     */
    async *read(fileId: string, key: Uint8Array, fromChunk = 0): AsyncGenerator<Uint8Array> {
      const fd = openSync(pathOf(fileId), 'r')
      try {
        const magic = Buffer.alloc(FILE_MAGIC.length)
        if (readSync(fd, magic, 0, magic.length, 0) !== magic.length || magic.toString('latin1') !== FILE_MAGIC) throw new FileChunkError(fileId, 0, 'bad_header')
        for (let index = fromChunk; ; index++) {
          const buffer = Buffer.allocUnsafe(SEALED_CHUNK_BYTES)
          const read = readFully(fd, buffer, FILE_MAGIC.length + index * SEALED_CHUNK_BYTES)
          if (read === 0) throw new FileChunkError(fileId, index, 'truncated')
          const isLast = read < SEALED_CHUNK_BYTES
          const plain = openChunk(key, fileId, index, isLast, buffer.subarray(0, read))
          releaseChunkBuffer(buffer)
          if (plain.length > 0) yield plain
          if (isLast) return
        }
      } finally {
        closeSync(fd)
      }
    },

    /** Removes `fileId`'s blob; nothing happens when there is none. */
    remove(fileId: string): void {
      rmSync(pathOf(fileId), { force: true })
    },

    /** Bytes `fileId`'s blob takes on disk, or null when it has none. */
    storedBytes(fileId: string): number | null {
      const path = pathOf(fileId)
      return existsSync(path) ? statSync(path).size : null
    },

    /** Removes the private temporary directory of an in-memory store; a DATA_DIR's blobs stay. */
    disposeTemporary(): void {
      if (dir === null && root !== null) rmSync(root, { recursive: true, force: true })
    },

    /**
     * Removes every blob and temporary file whose file id `isKnown` does not claim, among those last written
     * before `writtenBefore` (ms since the epoch); returns how many went. The bound spares what is
     * being written now: on a volume several instances share, another's upload in progress (its
     * temporary file, or its blob renamed into place before its row commits).
     */
    async sweepOrphans(isKnown: (fileId: string) => Promise<boolean>, writtenBefore: number): Promise<number> {
      // note: the directory is made by the first upload, not by a sweep: a start writes nothing it does not need.
      const base = root ?? dir
      if (base === null || !existsSync(base)) return 0
      let removed = 0
      for (const name of readdirSync(base)) {
        const path = join(base, name)
        const modifiedAt = statSync(path, { throwIfNoEntry: false })?.mtimeMs
        if (modifiedAt === undefined || modifiedAt > writtenBefore) continue
        const fileId = name.startsWith(TEMPORARY_PREFIX) ? name.slice(TEMPORARY_PREFIX.length) : name
        if (namePattern.test(fileId) && await isKnown(fileId)) continue
        rmSync(path, { force: true, recursive: true })
        removed++
      }
      return removed
    },
  }
}

export type FileBlobs = ReturnType<typeof createFileBlobs>

/** Writes a sealed chunk's parts in one system call (no copy into one buffer), however many calls the rest takes; the ciphertext is then released. */
function writeParts(fd: number, parts: Uint8Array[]): void {
  const total = parts.reduce((sum, part) => sum + part.length, 0)
  const written = writevSync(fd, parts)
  if (written < total) writeAll(fd, Buffer.concat(parts).subarray(written))
  releaseChunkBuffer(parts[1]!)
}

/**
 * Frees the memory of a chunk-sized buffer nothing else holds, now rather than at the next garbage
 * collection, by detaching it (it reads as empty afterwards). Only a buffer the view fills but for a
 * few bytes (node:crypto's output: 64 KiB in 64 KiB + 1) and larger than any pool slab qualifies.
 */
export function releaseChunkBuffer(bytes: Uint8Array): void {
  const { buffer } = bytes
  // note: each 100 MB upload leaves 100 MB of ciphertext behind it, and a document's reading 100 MB of
  // sealed chunks; how much of it waited for the collector depended on the heap's history (RSS rose
  // 26 to 151 MB during the same 100 MB upload, by what was read before). Detached, it is freed as it is written.
  if (buffer instanceof ArrayBuffer && !buffer.detached && bytes.byteOffset === 0 && bytes.byteLength >= 16 * 1024 && buffer.byteLength - bytes.byteLength <= 64) buffer.transfer(0)
}

