import { describe, expect, test } from 'bun:test'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { FILE_CHUNK_BYTES, FILE_MAGIC, SEALED_CHUNK_BYTES } from '../crypto/chunk-cipher.ts'
import { createDataKeyRotator } from './data-key-rotation.ts'
import type { FileId, FileRepo } from './files.ts'
import type { UserId } from './ids.ts'
import { FILES_DIRECTORY, FILES_ORPHAN_GRACE_MS, releaseChunkBuffer } from './file-blobs.ts'
import { openMemoryStore, openStore, type Store } from './open-store.ts'

const limits = { maxFileBytes: 8 * 1024 * 1024, quotaBytes: 64 * 1024 * 1024 }

async function* pieces(bytes: Uint8Array, size: number) {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size)
}

async function newUser(store: Store, email: string): Promise<UserId> {
  const result = await store.users.createUser({ email, name: 'Ada', role: 'user' })
  if (!result.ok) throw new Error(result.reason)
  return result.user.id
}

async function storeWithUser() {
  const store = openMemoryStore()
  return { store, owner: await newUser(store, 'ada@example.com') }
}

async function upload(files: FileRepo, owner: UserId, bytes: Uint8Array, name = 'notes.txt', pieceBytes = 1000) {
  const created = await files.create(owner, { name, contentType: 'text/plain' }, pieces(bytes, pieceBytes), limits)
  if (!created.ok) throw new Error(created.reason)
  return created.file
}

async function readAll(files: FileRepo, owner: UserId, id: FileId): Promise<Uint8Array> {
  const stream = (await files.readStream(owner, id))!
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

const random = (length: number) => {
  const bytes = new Uint8Array(length)
  for (let at = 0; at < length; at += 65536) crypto.getRandomValues(bytes.subarray(at, Math.min(length, at + 65536)))
  return bytes
}

describe('stored files', () => {
  test('releaseChunkBuffer frees a chunk-sized buffer of its own, and leaves pooled slabs, views and small buffers alone', async () => {
    const { createCipheriv } = await import('node:crypto')
    const cipher = createCipheriv('aes-256-gcm', new Uint8Array(32), new Uint8Array(12))
    const sealed = cipher.update(new Uint8Array(FILE_CHUNK_BYTES))
    releaseChunkBuffer(sealed)
    expect(sealed.byteLength).toBe(0)
    const pooled = Buffer.from('a short pooled buffer')
    const neighbour = Buffer.from('its neighbour in the slab')
    releaseChunkBuffer(pooled)
    expect(pooled.toString()).toBe('a short pooled buffer')
    expect(neighbour.toString()).toBe('its neighbour in the slab')
    const large = new Uint8Array(4 * FILE_CHUNK_BYTES).fill(7)
    const view = large.subarray(FILE_CHUNK_BYTES, 2 * FILE_CHUNK_BYTES)
    releaseChunkBuffer(view)
    releaseChunkBuffer(large.subarray(0, FILE_CHUNK_BYTES))
    expect(large.byteLength).toBe(4 * FILE_CHUNK_BYTES)
    expect(view[0]).toBe(7)
  })

  test('readBytes equals the streamed bytes, in a buffer of its own, and refuses past its bound', async () => {
    const { store, owner } = await storeWithUser()
    for (const length of [0, 1, FILE_CHUNK_BYTES - 1, FILE_CHUNK_BYTES, 2 * FILE_CHUNK_BYTES + 17]) {
      const bytes = random(length)
      const file = await upload(store.files, owner, bytes, 'x.bin', 4096)
      const whole = (await store.files.readBytes(owner, file.id, length))!
      expect(Buffer.from(whole).equals(Buffer.from(await readAll(store.files, owner, file.id)))).toBe(true)
      // its own ArrayBuffer, never a view into a pooled slab: extract-text.ts may move it to a worker.
      expect(whole.byteOffset).toBe(0)
      expect(whole.buffer.byteLength).toBe(length)
      if (length > 0) expect(await store.files.readBytes(owner, file.id, length - 1)).toBeNull()
    }
    store.close()
  })

  test('round trip at chunk edges, whatever the pieces the upload arrives in', async () => {
    const { store, owner } = await storeWithUser()
    await fc.assert(fc.asyncProperty(
      fc.constantFrom(0, 1, FILE_CHUNK_BYTES - 1, FILE_CHUNK_BYTES, FILE_CHUNK_BYTES + 1, 3 * FILE_CHUNK_BYTES, 2 * FILE_CHUNK_BYTES + 17),
      fc.integer({ min: 1, max: 3 * FILE_CHUNK_BYTES }),
      async (length, pieceBytes) => {
        const bytes = random(length)
        const file = await upload(store.files, owner, bytes, 'x.bin', pieceBytes)
        expect(file.size).toBe(length)
        expect(Buffer.from(await readAll(store.files, owner, file.id)).equals(Buffer.from(bytes))).toBe(true)
        const blob = join(store.files.blobDirectory(), file.id)
        // one chunk flagged last always ends the file, so a file cut at a chunk boundary is caught.
        expect(statSync(blob).size).toBe(FILE_MAGIC.length + Math.floor(length / FILE_CHUNK_BYTES) * SEALED_CHUNK_BYTES + (length % FILE_CHUNK_BYTES) + 28)
        await store.files.delete(owner, file.id)
      }), { numRuns: 12 })
  })

  test('get, list and the sealed name, type and metadata; another user finds nothing', async () => {
    const { store, owner } = await storeWithUser()
    const bob = await newUser(store, 'bob@example.com')
    const file = await upload(store.files, owner, new TextEncoder().encode('hello'), 'Réunion ✈.md')
    expect(await store.files.get(owner, file.id)).toMatchObject({ id: file.id, ownerId: owner, name: 'Réunion ✈.md', contentType: 'text/plain', size: 5 })
    expect((await store.files.list(owner)).map((f) => f.id)).toEqual([file.id])
    expect(await store.files.get(bob, file.id)).toBeNull()
    expect(await store.files.readStream(bob, file.id)).toBeNull()
    expect(await store.files.delete(bob, file.id)).toBe(false)
    expect(await store.files.setData(bob, file.id, { content: 'x' })).toBe(false)
    expect(await store.files.list(bob)).toEqual([])
    expect(await store.files.setData(owner, file.id, { content: 'extracted', status: 'completed' })).toBe(true)
    expect((await store.files.get(owner, file.id))!.data).toEqual({ content: 'extracted', status: 'completed' })
    expect(await store.files.setHash(owner, file.id, 'c0ffee')).toBe(true)
    expect((await store.files.get(owner, file.id))!.hash).toBe('c0ffee')
    const row = store.db.query<Record<string, unknown>, [string]>('SELECT * FROM file WHERE id = ?').get(file.id)!
    for (const column of ['name', 'content_type', 'meta', 'data', 'hash', 'file_key']) expect(row[column]).toBeInstanceOf(Uint8Array)
    expect(Buffer.from(row.name as Uint8Array).includes('Réunion')).toBe(false)
  })

  test('size limit and quota stop the upload midway and leave nothing behind', async () => {
    const { store, owner } = await storeWithUser()
    const tooBig = await store.files.create(owner, { name: 'big', contentType: 'text/plain' }, pieces(random(200_000), 4096), { maxFileBytes: 100_000, quotaBytes: 10 ** 9 })
    expect(tooBig).toEqual({ ok: false, reason: 'file_too_large' })
    await upload(store.files, owner, random(60_000))
    const over = await store.files.create(owner, { name: 'more', contentType: 'text/plain' }, pieces(random(60_000), 4096), { maxFileBytes: 10 ** 9, quotaBytes: 100_000 })
    expect(over).toEqual({ ok: false, reason: 'file_quota_exceeded' })
    expect(readdirSync(store.files.blobDirectory())).toHaveLength(1)
    expect(await store.files.usage(owner)).toEqual({ bytes: 60_000, count: 1 })
  })

  test('a failing source leaves neither blob nor row', async () => {
    const { store, owner } = await storeWithUser()
    async function* broken() {
      yield random(100_000)
      throw new Error('client went away')
    }
    await expect(store.files.create(owner, { name: 'x', contentType: 'text/plain' }, broken(), limits)).rejects.toThrow('client went away')
    expect(readdirSync(store.files.blobDirectory())).toEqual([])
    expect(await store.files.list(owner)).toEqual([])
  })

  test('deleting a file, or its owner, leaves no blob and no row', async () => {
    const { store, owner } = await storeWithUser()
    const one = await upload(store.files, owner, random(10))
    const two = await upload(store.files, owner, random(10))
    expect(await store.files.delete(owner, one.id)).toBe(true)
    expect(existsSync(join(store.files.blobDirectory(), one.id))).toBe(false)
    await store.users.deleteUser(owner)
    expect(readdirSync(store.files.blobDirectory())).toEqual([])
    expect(store.db.query('SELECT count(*) AS n FROM file').get()).toEqual({ n: 0 })
    expect(await store.files.get(owner, two.id)).toBeNull()
  })

  test('uses: a file says what refers to it, for the owner only', async () => {
    const { store, owner } = await storeWithUser()
    const file = await upload(store.files, owner, random(10))
    const chat = await store.chats.createChat(owner, 'with a file')
    const other = await store.chats.createChat(owner, 'another')
    expect(await store.files.addUse(owner, file.id, 'chat', chat.id)).toBe(true)
    expect(await store.files.addUse(owner, file.id, 'chat', other.id)).toBe(true)
    expect(await store.files.addUse(owner, file.id, 'knowledge', 'k1')).toBe(true)
    const expected = [{ kind: 'chat' as const, refId: chat.id as string }, { kind: 'chat' as const, refId: other.id as string }, { kind: 'knowledge' as const, refId: 'k1' }]
    expect(await store.files.listUses(owner, file.id)).toEqual(expected.sort((a, b) => (a.kind + a.refId).localeCompare(b.kind + b.refId)))
    expect(await store.files.removeUsesOf('chat', other.id)).toEqual([file.id])
    // deleting the chat ends its use; the file stays while a knowledge base uses it
    await store.chats.deleteChatForUser(owner, chat.id)
    expect(await store.files.listUses(owner, file.id)).toEqual([{ kind: 'knowledge', refId: 'k1' }])
    expect(await store.files.get(owner, file.id)).not.toBeNull()
  })

  test('data key rotation re-seals the file key; the bytes still open', async () => {
    const { store, owner } = await storeWithUser()
    const bytes = random(3 * FILE_CHUNK_BYTES + 5)
    const file = await upload(store.files, owner, bytes)
    const rotator = createDataKeyRotator(store.sql, store.dataKeys)
    await rotator.beginRotation([owner])
    for (let i = 0; i < 100 && (await rotator.pendingOwners()).length > 0; i++) await rotator.step(100)
    expect((await rotator.countStaleValues())).toBe(0)
    expect(Buffer.from(await readAll(store.files, owner, file.id)).equals(Buffer.from(bytes))).toBe(true)
  })

  test('an orphan blob (a crash between the blob and its row) is swept', async () => {
    const { store, owner } = await storeWithUser()
    const kept = await upload(store.files, owner, random(10))
    writeFileSync(join(store.files.blobDirectory(), crypto.randomUUID()), 'orphan')
    writeFileSync(join(store.files.blobDirectory(), '.upload-x'), 'partial')
    expect(await store.files.sweepOrphans({ graceMs: 0 })).toBe(2)
    expect(readdirSync(store.files.blobDirectory())).toEqual([kept.id])
  })

  test("a sweep never takes this instance's upload in progress, even with no grace period", async () => {
    const { store, owner } = await storeWithUser()
    let resume!: () => void
    const paused = new Promise<void>((resolve) => { resume = resolve })
    let sent = 0
    const source = (async function* () {
      yield random(FILE_CHUNK_BYTES + 10)
      sent++
      await paused
      yield random(10)
    })()
    const uploading = store.files.create(owner, { name: 'slow.bin', contentType: 'text/plain' }, source, limits)
    for (let i = 0; i < 100 && sent === 0; i++) await Bun.sleep(5)
    expect(readdirSync(store.files.blobDirectory()).filter((name) => name.startsWith('.upload-'))).toHaveLength(1)
    expect(await store.files.sweepOrphans({ graceMs: 0 })).toBe(0)
    resume()
    const created = await uploading
    expect(created.ok).toBe(true)
    expect(readdirSync(store.files.blobDirectory())).toEqual([created.ok ? created.file.id : ''])
  })
})

describe('changing the data only if nobody changed it since (a status moving once)', () => {
  test('of two changes made from the same reading, one is written; a declined change or another owner writes nothing', async () => {
    const { store, owner } = await storeWithUser()
    const bob = await newUser(store, 'bob@example.com')
    const file = await upload(store.files, owner, new TextEncoder().encode('hello'), 'a.md')
    await store.files.setData(owner, file.id, { status: 'failed', error: 'unreachable', content: 'kept' })
    const toProcessing = (data: Record<string, unknown>) => (data.status === 'failed' ? { ...data, status: 'processing' } : null)
    const outcomes = await Promise.all([store.files.changeDataIf(owner, file.id, toProcessing), store.files.changeDataIf(owner, file.id, toProcessing)])
    expect(outcomes.filter((outcome) => outcome !== null)).toEqual([{ status: 'processing', error: 'unreachable', content: 'kept' }])
    expect(await store.files.changeDataIf(owner, file.id, toProcessing)).toBeNull()
    expect(await store.files.changeDataIf(bob, file.id, () => ({ status: 'x' }))).toBeNull()
    expect((await store.files.get(owner, file.id))!.data).toEqual({ status: 'processing', error: 'unreachable', content: 'kept' })
  })

  test('a change read before another write landed is not written over it', async () => {
    const { store, owner } = await storeWithUser()
    const file = await upload(store.files, owner, new TextEncoder().encode('hello'), 'a.md')
    const written = await store.files.changeDataIf(owner, file.id, (data) => {
      void store.files.setData(owner, file.id, { status: 'completed' })
      return { ...data, status: 'processing' }
    })
    expect(written).toBeNull()
    expect((await store.files.get(owner, file.id))!.data).toEqual({ status: 'completed' })
  })
})

describe('the start-up sweep on a blob directory several instances share (DATA_DIR/files on PostgreSQL)', () => {
  test('removes orphans older than the grace period, and leaves a recent blob or upload alone: another instance may still be writing it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'enclave-sweep-'))
    try {
      const masterKey = { kind: 'generated' as const, path: join(dataDir, '.encryption_key') }
      let store = openStore({ dataDir, masterKey, now: Date.now })
      const owner = await newUser(store, 'ada@example.com')
      const kept = await upload(store.files, owner, random(10))
      store.close()
      const dir = join(dataDir, FILES_DIRECTORY)
      const longAgo = (Date.now() - FILES_ORPHAN_GRACE_MS - 60_000) / 1000
      const [oldBlob, oldUpload, newBlob, newUpload] = [crypto.randomUUID(), `.upload-${crypto.randomUUID()}`, crypto.randomUUID(), `.upload-${crypto.randomUUID()}`]
      for (const name of [oldBlob, oldUpload, newBlob, newUpload]) writeFileSync(join(dir, name), 'bytes')
      for (const name of [oldBlob, oldUpload, kept.id]) utimesSync(join(dir, name), longAgo, longAgo)
      store = openStore({ dataDir, masterKey, now: Date.now })
      expect(await store.orphansSwept).toBe(2)
      expect(readdirSync(dir).sort()).toEqual([kept.id, newBlob, newUpload].sort())
      store.close()
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  })
})

describe('a tampered blob fails to open, with a clear error', () => {
  const bytes = random(3 * FILE_CHUNK_BYTES + 100)

  async function tampered(change: (blob: Buffer, other: Buffer) => Buffer) {
    const { store, owner } = await storeWithUser()
    const file = await upload(store.files, owner, bytes)
    const other = await upload(store.files, owner, bytes)
    const path = join(store.files.blobDirectory(), file.id)
    writeFileSync(path, change(readFileSync(path), readFileSync(join(store.files.blobDirectory(), other.id))))
    return readAll(store.files, owner, file.id)
  }
  const chunkAt = (index: number) => FILE_MAGIC.length + index * SEALED_CHUNK_BYTES

  test.each([
    ['a flipped bit', (blob: Buffer) => { blob[chunkAt(1) + 40]! ^= 1; return blob }, /chunk 1 was altered/],
    ['cut after the first chunk', (blob: Buffer) => blob.subarray(0, chunkAt(1)), /chunk 1 is missing/],
    ['cut inside the last chunk', (blob: Buffer) => blob.subarray(0, blob.length - 5), /chunk 3 was altered/],
    ['the last chunk dropped', (blob: Buffer) => blob.subarray(0, chunkAt(3)), /chunk 3 is missing/],
    ['two chunks swapped', (blob: Buffer) => Buffer.concat([blob.subarray(0, chunkAt(0)), blob.subarray(chunkAt(1), chunkAt(2)), blob.subarray(chunkAt(0), chunkAt(1)), blob.subarray(chunkAt(2))]), /chunk 0 was altered/],
    ['a chunk from another file', (blob: Buffer, other: Buffer) => Buffer.concat([blob.subarray(0, chunkAt(1)), other.subarray(chunkAt(1), chunkAt(2)), blob.subarray(chunkAt(2))]), /chunk 1 was altered/],
    ['a chunk appended', (blob: Buffer) => Buffer.concat([blob, blob.subarray(chunkAt(0), chunkAt(1))]), /chunk 3 was altered/],
    ['the header replaced', (blob: Buffer) => Buffer.concat([Buffer.from('ENCLFIL9'), blob.subarray(8)]), /not in the stored-file format/],
  ])('%s', async (_, change, message) => {
    await expect(tampered(change)).rejects.toThrow(message)
  })
})

describe('reading from a later chunk (a byte range)', () => {
  const bytes = random(3 * FILE_CHUNK_BYTES + 100)
  const chunkAt = (index: number) => FILE_MAGIC.length + index * SEALED_CHUNK_BYTES
  const readFrom = async (files: FileRepo, owner: UserId, id: FileId, chunk: number) => new Uint8Array(await new Response((await files.readStream(owner, id, chunk))!).arrayBuffer())

  test('yields the bytes from that chunk on', async () => {
    const { store, owner } = await storeWithUser()
    const file = await upload(store.files, owner, bytes)
    for (const chunk of [0, 1, 3]) expect(Buffer.from(await readFrom(store.files, owner, file.id, chunk)).equals(Buffer.from(bytes.subarray(chunk * FILE_CHUNK_BYTES)))).toBe(true)
  })

  test.each([
    ['two later chunks swapped', (blob: Buffer) => Buffer.concat([blob.subarray(0, chunkAt(1)), blob.subarray(chunkAt(2), chunkAt(3)), blob.subarray(chunkAt(1), chunkAt(2)), blob.subarray(chunkAt(3))]), /chunk 1 was altered/],
    ['the tail cut', (blob: Buffer) => blob.subarray(0, chunkAt(3)), /chunk 3 is missing/],
    ['the chunk moved to the start', (blob: Buffer) => Buffer.concat([blob.subarray(0, chunkAt(0)), blob.subarray(chunkAt(2))]), /chunk 2 is missing|chunk 1 was altered/],
  ])('still fails to open when %s', async (_, change, message) => {
    const { store, owner } = await storeWithUser()
    const file = await upload(store.files, owner, bytes)
    const path = join(store.files.blobDirectory(), file.id)
    writeFileSync(path, change(readFileSync(path)))
    await expect(readFrom(store.files, owner, file.id, 1)).rejects.toThrow(message)
  })
})
