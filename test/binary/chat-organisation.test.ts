/**
 * Folders, tags and sharing in the compiled binary: the routes answer as in-process, sharing is
 * off until ENABLE_COMMUNITY_SHARING is set, and no folder name or tag is in the data files.
 */
import { expect, test } from 'bun:test'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { bearer, signUp, statusOf } from '../helpers/accounts.ts'
import { binaryAppStarter } from '../helpers/binary-app.ts'
import { call, newChat } from '../helpers/organisation.ts'

const startApp = binaryAppStarter()
const FOLDER = 'MARKER-BINFOLDER-31c7'
const TAG = 'MARKER-BINTAG-8e04'

test('folders, tags and sharing against dist/enclave', async () => {
  const binary = await startApp()
  const { app } = binary
  const ada = bearer((await signUp(app, 'ada@example.com')).token)
  const folder = await call<{ id: string; name: string }>(app, 'POST', '/api/v1/folders/', ada, { name: FOLDER })
  const chat = await newChat(app, ada, 'Filed')
  expect((await call<{ folder_id: string }>(app, 'POST', `/api/v1/chats/${chat}/folder`, ada, { folder_id: folder.id })).folder_id).toBe(folder.id)
  expect(await call<{ id: string; title: string; updated_at: number }[]>(app, 'GET', `/api/v1/chats/folder/${folder.id}/list?page=1`, ada)).toEqual([{ id: chat, title: 'Filed', updated_at: expect.any(Number) }])
  await call(app, 'POST', `/api/v1/chats/${chat}/tags`, ada, { name: TAG })
  expect((await call<{ id: string }[]>(app, 'GET', `/api/v1/chats/search?text=${encodeURIComponent(`tag:${TAG}`)}`, ada)).map((found) => found.id)).toEqual([chat])
  expect(await statusOf(app, 'POST', `/api/v1/chats/${chat}/share`, ada)).toBe(403)

  await binary.restart({ ENABLE_COMMUNITY_SHARING: 'true' })
  const shared = await call<{ id: string; share_id: string }>(app, 'POST', `/api/v1/chats/${chat}/share`, ada)
  expect((await call<{ title: string }>(app, 'GET', `/api/v1/chats/share/${shared.share_id}`, ada)).title).toBe('Filed')
  expect((await call<{ name: string }>(app, 'GET', `/api/v1/folders/${folder.id}`, ada)).name).toBe(FOLDER)

  const dataDir = join(binary.cwd, 'data')
  const files = readdirSync(dataDir).filter((file) => file.startsWith('enclave.db'))
  expect(files).toContain('enclave.db')
  for (const name of files) {
    const bytes = readFileSync(join(dataDir, name))
    for (const marker of [FOLDER, TAG, TAG.toLowerCase()]) expect([name, marker, bytes.indexOf(Buffer.from(marker))]).toEqual([name, marker, -1])
  }
})
