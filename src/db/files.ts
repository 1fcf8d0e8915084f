/**
 * Uploaded files, as Open WebUI keeps them: each belongs to one user. The row holds the sealed name,
 * detected type, metadata, extracted data (`data: { content, status }`), content hash and the file's
 * own random key, all under the owner's data key with the file's id in their AAD; the bytes are in
 * a blob encrypted under the file key (src/db/file-blobs.ts). Every lookup names the owner, so
 * another user's file id finds nothing. Deleting the row (secure_delete, then a WAL checkpoint)
 * destroys the file key, and the blob goes with it; deleting the owner destroys their data keys.
 * Data key rotation re-seals the file key (the bytes stay under it). Writes stream: a file never
 * sits whole in memory. No content hash is computed on upload (SHA-256 halved the upload rate, and
 * each chunk's tag already authenticates the bytes); `hash` is there for whoever extracts the file.
 * The rows live on the engine (SQLite or PostgreSQL); the blobs in DATA_DIR/files, a volume several
 * instances share on PostgreSQL, so a sweep leaves recent blobs alone (file-blobs.ts).
 */
import { generateKey } from '../crypto/random.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import { FILES_ORPHAN_GRACE_MS, releaseChunkBuffer, type FileBlobs } from './file-blobs.ts'
import type { UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'
import { eraseDeletedPagesFromWal } from './wal-erasure.ts'

const fileTable = sealedTable('file', { name: 'text', content_type: 'text', meta: 'json', data: 'json', hash: 'text', file_key: 'bytes' })

export type FileId = string & { readonly brand: 'FileId' }
export type FileUseKind = 'chat' | 'knowledge'

/** A stored file as callers see it: plaintext, never its key. */
export type StoredFile = {
  id: FileId; ownerId: UserId; name: string; contentType: string; size: number; hash: string | null
  meta: Record<string, unknown>; data: Record<string, unknown>; createdAt: number; updatedAt: number
}

export type FileInput = { name: string; contentType: string; meta?: Record<string, unknown>; data?: Record<string, unknown> }
export type FileLimits = { maxFileBytes: number; quotaBytes: number }
export type CreateFileResult = { ok: true; file: StoredFile } | { ok: false; reason: 'file_too_large' | 'file_quota_exceeded' }

type FileRow = {
  id: string; user_id: string; name: Uint8Array; content_type: Uint8Array; meta: Uint8Array | null; data: Uint8Array | null
  hash: Uint8Array | null; file_key: Uint8Array; size: number; created_at: number; updated_at: number
}

const fileIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Reads a file id from outside input, or null when it can't be one. */
export const parseFileId = (raw: string): FileId | null => (fileIdPattern.test(raw) ? (raw as FileId) : null)

export function createFileRepo(sql: SqlEngine, keys: DataKeyRepo, blobs: FileBlobs, now: () => number) {
  const select = (id: string, owner: string) => sql.get<FileRow>('SELECT * FROM file WHERE id = ? AND user_id = ?', id, owner)
  const usedBy = async (owner: string) => {
    const row = (await sql.get<{ used: number; n: number }>('SELECT coalesce(sum(size), 0) AS used, count(*) AS n FROM file WHERE user_id = ?', owner))!
    return { used: Number(row.used), n: Number(row.n) }
  }
  // note: ids this instance is writing or committing, which no sweep may take for orphans.
  const writing = new Set<string>()

  const toFile = async (row: FileRow): Promise<StoredFile> => {
    const plain = fileTable.open(row.id, row, await keys.ringFor(row.user_id))
    return {
      id: row.id as FileId, ownerId: row.user_id as UserId, name: plain.name!, contentType: plain.content_type!, size: Number(row.size),
      hash: plain.hash, meta: (plain.meta ?? {}) as Record<string, unknown>, data: (plain.data ?? {}) as Record<string, unknown>,
      createdAt: row.created_at, updatedAt: row.updated_at,
    }
  }
  const fileKeyOf = async (row: FileRow) => fileTable.openColumn('file_key', row.id, row.file_key, await keys.ringFor(row.user_id))!

  const get = async (owner: UserId, id: FileId): Promise<StoredFile | null> => {
    const row = await select(id, owner)
    return row === null ? null : toFile(row)
  }
  const update = async (owner: UserId, id: FileId, column: 'data' | 'meta' | 'name' | 'hash', value: unknown): Promise<boolean> => {
    const sealed = fileTable.sealColumn(column, id, value as never, await keys.ringFor(owner))
    return (await sql.run(`UPDATE file SET ${column} = ?, updated_at = ? WHERE id = ? AND user_id = ?`, sealed, now(), id, owner)).changes > 0
  }
  // note: the pages a deleted row held are zeroed (secure_delete), but SQLite's WAL keeps older copies
  // of them until a checkpoint empties it and cuts its file (wal-erasure.ts), as for a deleted user;
  // the blobs go first, so a WalNotErasedError leaves none behind.
  const removeBlobs = async (rows: { id: string }[]) => {
    for (const row of rows) blobs.remove(row.id)
    if (rows.length > 0) await eraseDeletedPagesFromWal(sql)
    return rows.length
  }

  return {
    /** Returns the owner's file, or null when it is unknown or someone else's. */
    get,

    /** Lists the owner's files, newest first. */
    async list(owner: UserId): Promise<StoredFile[]> {
      return Promise.all((await sql.all<FileRow>('SELECT * FROM file WHERE user_id = ? ORDER BY created_at DESC, id', owner)).map(toFile))
    },

    /** Bytes and count of the owner's stored files (plaintext sizes). */
    async usage(owner: UserId): Promise<{ bytes: number; count: number }> {
      const { used, n } = await usedBy(owner)
      return { bytes: used, count: n }
    },

    /**
     * Streams `source` into a new file of the owner's, encrypted as it arrives. Refused, leaving
     * nothing behind, when it passes the size limit or would take the owner past their quota.
     */
    async create(owner: UserId, input: FileInput, source: AsyncIterable<Uint8Array>, limits: FileLimits): Promise<CreateFileResult> {
      const id = crypto.randomUUID() as FileId
      const fileKey = generateKey()
      writing.add(id)
      try {
        const usedBefore = (await usedBy(owner)).used
        const written = await blobs.write(id, fileKey, source, (total) =>
          total > limits.maxFileBytes ? { stop: true, reason: 'file_too_large' }
            : usedBefore + total > limits.quotaBytes ? { stop: true, reason: 'file_quota_exceeded' } : null)
        if (!written.ok) return { ok: false, reason: written.reason as 'file_too_large' | 'file_quota_exceeded' }
        const at = now()
        const meta = { ...input.meta, name: input.name, content_type: input.contentType, size: written.size }
        try {
          // note: sealed before the transaction, which holds only the quota check and the insert.
          const sealed = fileTable.seal(id, { name: input.name, content_type: input.contentType, meta, data: input.data ?? {}, hash: null, file_key: fileKey }, await keys.ringFor(owner))
          const admitted = await sql.transaction(async () => {
            // note: checked again here, so two uploads racing each other cannot pass the quota together.
            if ((await usedBy(owner)).used + written.size > limits.quotaBytes) return false
            await sql.run('INSERT INTO file (id, user_id, name, content_type, meta, data, hash, file_key, size, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
              id, owner, sealed.name!, sealed.content_type!, sealed.meta, sealed.data, sealed.hash, sealed.file_key!, written.size, at, at)
            return true
          })
          if (!admitted) {
            blobs.remove(id)
            return { ok: false, reason: 'file_quota_exceeded' }
          }
        } catch (error) {
          blobs.remove(id)
          throw error
        }
        return { ok: true, file: (await get(owner, id))! }
      } finally {
        writing.delete(id)
      }
    },

    /**
     * The decrypted bytes of the owner's file as a stream, from chunk `fromChunk` (of FILE_CHUNK_BYTES)
     * on, or null when it is not theirs; the stream errors with FileChunkError when the stored bytes were altered.
     */
    async readStream(owner: UserId, id: FileId, fromChunk = 0): Promise<ReadableStream<Uint8Array> | null> {
      const row = await select(id, owner)
      if (row === null) return null
      const chunks = blobs.read(id, await fileKeyOf(row), fromChunk)
      return new ReadableStream<Uint8Array>({
        async pull(controller) {
          const next = await chunks.next()
          if (next.done) controller.close()
          else controller.enqueue(next.value)
        },
        async cancel() {
          await chunks.return(undefined)
        },
      })
    },

    /** The decrypted bytes of the owner's file whole, for small files (images for a model); null when not theirs or larger than `maxBytes`. */
    async readBytes(owner: UserId, id: FileId, maxBytes: number): Promise<Uint8Array | null> {
      const row = await select(id, owner)
      if (row === null || Number(row.size) > maxBytes) return null
      // note: one buffer of the file's size, filled chunk by chunk: collecting the chunks and joining
      // them held the file twice (a 100 MB document's reading peaked ~100 MB higher). Its own
      // ArrayBuffer (never a pooled slab), so a caller may hand it to a worker (extract-text.ts).
      let bytes: Buffer = Buffer.allocUnsafeSlow(Number(row.size))
      let filled = 0
      for await (const chunk of blobs.read(id, await fileKeyOf(row))) {
        if (filled + chunk.length > bytes.length) bytes = grown(bytes, filled, filled + chunk.length)
        bytes.set(chunk, filled)
        filled += chunk.length
        releaseChunkBuffer(chunk)
      }
      return filled === bytes.length ? bytes : bytes.subarray(0, filled)
    },

    /** Replaces the file's extracted data (Open WebUI's `data`: content, status, error); false when not the owner's. */
    setData(owner: UserId, id: FileId, data: Record<string, unknown>): Promise<boolean> {
      return update(owner, id, 'data', data)
    },

    /**
     * Changes the file's extracted data only if nobody changed it since it was read: `next` gets the
     * data and returns the new data, or null to leave it. The write is a compare-and-set on the stored
     * (sealed) bytes, so of several requests or instances moving the same file from one status to
     * another, one wins. The new data, or null when `next` declined, the row changed meanwhile, or
     * the file is not the owner's.
     */
    async changeDataIf(owner: UserId, id: FileId, next: (data: Record<string, unknown>) => Record<string, unknown> | null): Promise<Record<string, unknown> | null> {
      const row = await select(id, owner)
      if (row === null || row.data === null) return null
      const file = await toFile(row)
      const changed = next(file.data)
      if (changed === null) return null
      const sealed = fileTable.sealColumn('data', id, changed as never, await keys.ringFor(owner))
      const written = await sql.run('UPDATE file SET data = ?, updated_at = ? WHERE id = ? AND user_id = ? AND data = ?', sealed, now(), id, owner, row.data)
      return written.changes > 0 ? changed : null
    },

    /** Records a hash of the file's content (Open WebUI's `hash`, for de-duplication); false when not the owner's. */
    setHash(owner: UserId, id: FileId, hash: string): Promise<boolean> {
      return update(owner, id, 'hash', hash)
    },

    /** Replaces the file's metadata; false when not the owner's. */
    setMeta(owner: UserId, id: FileId, meta: Record<string, unknown>): Promise<boolean> {
      return update(owner, id, 'meta', meta)
    },

    /** Renames the file (its metadata's name follows); false when not the owner's. */
    async rename(owner: UserId, id: FileId, name: string): Promise<boolean> {
      const ring = await keys.ringFor(owner)
      return sql.transaction(async () => {
        const file = await get(owner, id)
        if (file === null) return false
        await sql.run('UPDATE file SET name = ?, meta = ?, updated_at = ? WHERE id = ? AND user_id = ?',
          fileTable.sealColumn('name', id, name, ring), fileTable.sealColumn('meta', id, { ...file.meta, name }, ring), now(), id, owner)
        return true
      })
    },

    /** Deletes the owner's file and its bytes; false when it is not theirs. WalNotErasedError: deleted, but not yet erased from SQLite's WAL (wal-erasure.ts). */
    async delete(owner: UserId, id: FileId): Promise<boolean> {
      return await removeBlobs(await sql.all<{ id: string }>('DELETE FROM file WHERE id = ? AND user_id = ? RETURNING id', id, owner)) > 0
    },

    /** Deletes every file of the owner; returns how many. */
    async deleteAll(owner: UserId): Promise<number> {
      return removeBlobs(await sql.all<{ id: string }>('DELETE FROM file WHERE user_id = ? RETURNING id', owner))
    },

    /** Records that a chat or knowledge base (`refId`) refers to the owner's file; false when it is not theirs. */
    async addUse(owner: UserId, id: FileId, kind: FileUseKind, refId: string): Promise<boolean> {
      return sql.transaction(async () => {
        if (await select(id, owner) === null) return false
        await sql.run('INSERT INTO file_use (file_id, kind, ref_id) SELECT id, ?, ? FROM file WHERE id = ? AND user_id = ? ON CONFLICT DO NOTHING', kind, refId, id, owner)
        return true
      })
    },

    /** Forgets that `refId` refers to the file. */
    async removeUse(id: FileId, kind: FileUseKind, refId: string): Promise<void> {
      await sql.run('DELETE FROM file_use WHERE file_id = ? AND kind = ? AND ref_id = ?', id, kind, refId)
    },

    /** Forgets every file `refId` referred to (a chat or knowledge base being deleted); returns those files' ids. */
    async removeUsesOf(kind: FileUseKind, refId: string): Promise<FileId[]> {
      return (await sql.all<{ file_id: string }>('DELETE FROM file_use WHERE kind = ? AND ref_id = ? RETURNING file_id', kind, refId)).map((row) => row.file_id as FileId)
    },

    /** What refers to the owner's file (empty when nothing, or when it is not theirs). */
    async listUses(owner: UserId, id: FileId): Promise<{ kind: FileUseKind; refId: string }[]> {
      // note: a chat's use ends with the chat: a deleted chat's rows no longer count, without a hook in every way a chat goes.
      const rows = await sql.all<{ kind: FileUseKind; ref_id: string }>(`
        SELECT u.kind, u.ref_id FROM file_use u JOIN file f ON f.id = u.file_id
        WHERE u.file_id = ? AND f.user_id = ? AND (u.kind != 'chat' OR EXISTS (SELECT 1 FROM chat c WHERE c.id = u.ref_id AND c.user_id = f.user_id))
        ORDER BY u.kind, u.ref_id`, id, owner)
      return rows.map((row) => ({ kind: row.kind, refId: row.ref_id }))
    },

    /**
     * Removes blobs no row claims (a crash mid-upload, a deleted owner's files) last written more
     * than `graceMs` ago (FILES_ORPHAN_GRACE_MS unless given), never one this instance is writing; returns how many.
     */
    sweepOrphans({ graceMs = FILES_ORPHAN_GRACE_MS }: { graceMs?: number } = {}): Promise<number> {
      // note: a temporary file of a finished upload (its row committed) cannot be left: it was renamed into the blob.
      return blobs.sweepOrphans(async (fileId) =>
        writing.has(fileId) || await sql.get('SELECT 1 AS found FROM file WHERE id = ?', fileId) !== null, now() - graceMs)
    },

    /** Removes the blobs of these files, whose rows are gone (their owner was deleted). */
    removeBlobsOf(fileIds: readonly string[]): void {
      for (const id of fileIds) if (!writing.has(id)) blobs.remove(id)
    },

    /** The directory of the encrypted blobs (for backups and tests). */
    blobDirectory: () => blobs.directory(),
  }
}

export type FileRepo = ReturnType<typeof createFileRepo>

/** The first `filled` bytes of `bytes` in a larger buffer, of at least `length` (a blob longer than its row says: kept as read). */
function grown(bytes: Buffer, filled: number, length: number): Buffer {
  const larger = Buffer.allocUnsafeSlow(Math.max(length, bytes.length * 2))
  larger.set(bytes.subarray(0, filled))
  return larger
}
