/**
 * GET /api/v1/files/:id/data/content while a text file's processing is under way: the text is the
 * file's own, and the status the one recorded (pending, processing), not `completed`, so a client
 * polling for the outcome keeps waiting (a race the binary's files test met under load).
 */
import { expect, test } from 'bun:test'
import type { FileId } from '../../src/db/files.ts'
import type { UserId } from '../../src/db/ids.ts'
import { bearer, signUp } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const TEXT = 'field notes, still being read\n'

test('a text file being processed answers its text with the recorded status', async () => {
  const { app, deps } = startTestApp()
  const ada = await signUp(app, 'ada@example.com')
  const owner = ada.id as UserId
  const created = await deps.store.files.create(owner, { name: 'notes.txt', contentType: 'text/plain' }, (async function* () { yield Buffer.from(TEXT) })(), { maxFileBytes: 10 ** 6, quotaBytes: 10 ** 7 })
  if (!created.ok) throw new Error(created.reason)
  const id = created.file.id as FileId
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
