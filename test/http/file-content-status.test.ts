/**
 * GET /api/v1/files/:id/data/content while a text file's processing is under way: the text is the
 * file's own, and the status the one recorded (pending, processing), not `completed`, so a client
 * polling for the outcome keeps waiting (a race the binary's files test met under load). Also the
 * answer to a file's deletion whose erasure from the WAL did not finish (src/db/wal-erasure.ts).
 */
import { expect, test } from 'bun:test'
import type { FileId } from '../../src/db/files.ts'
import type { UserId } from '../../src/db/ids.ts'
import { bearer, signUp } from '../helpers/accounts.ts'
import { WalNotErasedError } from '../../src/db/wal-erasure.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const TEXT = 'field notes, still being read\n'

/** A fresh app with one account, ada, who owns one stored text file. */
async function adaWithTextFile() {
  const { app, deps } = startTestApp()
  const ada = await signUp(app, 'ada@example.com')
  const owner = ada.id as UserId
  const created = await deps.store.files.create(owner, { name: 'notes.txt', contentType: 'text/plain' }, (async function* () { yield Buffer.from(TEXT) })(), { maxFileBytes: 10 ** 6, quotaBytes: 10 ** 7 })
  if (!created.ok) throw new Error(created.reason)
  return { app, deps, ada, owner, id: created.file.id as FileId }
}

test('a text file being processed answers its text with the recorded status', async () => {
  const { app, deps, ada, owner, id } = await adaWithTextFile()
  const content = async () => (await app.handle(req('GET', `/api/v1/files/${id}/data/content`, undefined, bearer(ada.token)))).json()
  // never processed (an upload from before retrieval existed): the text, completed
  expect(await content()).toEqual({ content: TEXT, status: 'completed' })
  for (const status of ['pending', 'processing'] as const) {
    await deps.store.files.setData(owner, id, { status })
    expect(await content()).toEqual({ content: TEXT, status })
  }
  await deps.store.files.setData(owner, id, { status: 'failed', error: 'unreachable', content: TEXT })
  expect(await content()).toEqual({ content: TEXT, status: 'failed' })
})

test('a file deletion whose erasure from the WAL did not finish is answered as such, and the file is gone', async () => {
  const { app, deps, ada, id } = await adaWithTextFile()
  const remove = deps.store.files.delete
  deps.store.files.delete = async (...args) => {
    await remove(...args)
    throw new WalNotErasedError(1, -1)
  }
  const response = await app.handle(req('DELETE', `/api/v1/files/${id}`, undefined, bearer(ada.token)))
  expect(response.status).toBe(500)
  const body = (await response.json()) as { code: string; detail: string }
  expect(body.code).toBe('erasure_incomplete')
  expect(body.detail).toContain('The deletion was made')
  expect(body.detail).not.toContain('notes.txt')
  expect((await app.handle(req('GET', `/api/v1/files/${id}`, undefined, bearer(ada.token)))).status).toBe(404)
})
