import { expect, test } from 'bun:test'
import { openMemoryStore } from './open-store.ts'

test('documents of many files come back once each, oldest first, whatever the length of the list', async () => {
  const store = openMemoryStore()
  const created = await store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'user' })
  if (!created.ok) throw new Error(created.reason)
  const owner = created.user.id
  const embedding = Float32Array.from({ length: 4 }, (_, i) => i + 1)
  const fileIds = Array.from({ length: 70 }, (_, i) => `file-${i}`)
  const saved = []
  for (const fileId of fileIds) {
    saved.push(await store.ragDocuments.saveDocument(owner, { fileId, name: fileId, model: 'm', dimensions: 4 }, [{ content: { text: fileId, start: 0 }, embedding }]))
  }
  expect(await store.ragDocuments.listDocumentsForFiles([])).toEqual([])
  expect((await store.ragDocuments.listDocumentsForFiles(['file-3', 'file-1', 'file-3'])).map((document) => document.name).sort()).toEqual(['file-1', 'file-3'])
  const all = await store.ragDocuments.listDocumentsForFiles([...fileIds].reverse())
  expect(all.map((document) => document.id)).toEqual(saved.map((document) => document.id))
  store.close()
})
