import { describe, expect, test } from 'bun:test'
import type { FileId } from '../db/files.ts'
import type { UserId } from '../db/ids.ts'
import { openMemoryStore } from '../db/open-store.ts'
import type { RagDocument } from '../db/rag-documents.ts'
import { fileSourceOf } from './file-source.ts'
import { createReadAgain, mayReadAgain } from './read-again.ts'
import type { IndexResult } from './retrieval.ts'

async function fileWithData(data: Record<string, unknown>) {
  const store = openMemoryStore()
  const created = await store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'user' })
  if (!created.ok) throw new Error(created.reason)
  const owner = created.user.id as UserId
  async function* bytes() { yield new TextEncoder().encode('# Notes\n\nsome text') }
  const file = await store.files.create(owner, { name: 'notes.md', contentType: 'text/markdown' }, bytes(), { maxFileBytes: 1 << 20, quotaBytes: 1 << 24 })
  if (!file.ok) throw new Error(file.reason)
  await store.files.setData(owner, file.file.id, data)
  const dataOf = async () => (await store.files.get(owner, file.file.id as FileId))!.data
  return { source: fileSourceOf(store.files, 1 << 20), owner, fileId: file.file.id as string, dataOf }
}

const done: IndexResult = { ok: true, document: { id: 'd' } as unknown as RagDocument, text: 'some text' }

describe('which files a chat may have read again', () => {
  test.each([
    [null, null, true], ['completed', null, true],
    ['failed', 'model_not_found', true], ['failed', 'unreachable', true], ['failed', 'bad_reply', true],
    ['failed', 'empty', false], ['failed', 'unsupported', false], ['failed', 'too_large', false], ['failed', 'too_many_pages', false],
    ['failed', 'too_deep', false], ['failed', 'timeout', false], ['failed', 'unreadable', false], ['failed', null, false],
    ['pending', null, false], ['processing', null, false],
  ])('status %p, error %p: %p', (status, error, may) => {
    expect(mayReadAgain({ status, error })).toBe(may)
  })
})

describe('reading a file again', () => {
  test('concurrent callers in one process share one reading and its outcome', async () => {
    const { source, owner, fileId } = await fileWithData({ status: 'failed', error: 'unreachable' })
    let runs = 0
    const readAgain = createReadAgain(source, async () => {
      runs++
      await Bun.sleep(20)
      return done
    })
    const outcomes = await Promise.all([readAgain(owner, fileId), readAgain(owner, fileId), readAgain(owner, fileId)])
    expect(runs).toBe(1)
    expect(outcomes).toEqual([done, done, done])
  })

  test('two instances (two read-agains over one store): one reads, the other is told the file is busy', async () => {
    const { source, owner, fileId } = await fileWithData({ status: 'failed', error: 'model_not_found' })
    let runs = 0
    const process = async () => {
      runs++
      await Bun.sleep(20)
      return done
    }
    const outcomes = await Promise.all([createReadAgain(source, process)(owner, fileId), createReadAgain(source, process)(owner, fileId)])
    expect(runs).toBe(1)
    expect(outcomes.filter((outcome) => outcome === 'busy')).toHaveLength(1)
  })

  test('a permanent failure is not read, and its data is left as it was', async () => {
    const { source, owner, fileId, dataOf } = await fileWithData({ status: 'failed', error: 'empty', content: '' })
    let runs = 0
    expect(await createReadAgain(source, async () => (runs++, done))(owner, fileId)).toBe('busy')
    expect(runs).toBe(0)
    expect(await dataOf()).toEqual({ status: 'failed', error: 'empty', content: '' })
  })

  test('a reading that throws puts the status back, so the file is not left processing', async () => {
    const { source, owner, fileId, dataOf } = await fileWithData({ status: 'failed', error: 'unreachable', content: 'kept' })
    const readAgain = createReadAgain(source, async () => {
      throw new Error('database went away')
    })
    await expect(readAgain(owner, fileId)).rejects.toThrow('database went away')
    expect(await dataOf()).toEqual({ status: 'failed', error: 'unreachable', content: 'kept' })
  })

  test("another owner's file, or none: null, nothing read", async () => {
    const { source, fileId } = await fileWithData({ status: 'failed', error: 'unreachable' })
    let runs = 0
    expect(await createReadAgain(source, async () => (runs++, done))('someone-else' as UserId, fileId)).toBeNull()
    expect(runs).toBe(0)
  })
})
