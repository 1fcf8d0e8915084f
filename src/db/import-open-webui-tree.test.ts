import { afterAll, expect, test } from 'bun:test'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chatJson, writeOpenWebUiDatabase, type FixtureChat } from '../../test/helpers/open-webui-fixture.ts'
import type { UserId } from './ids.ts'
import { importOpenWebUi } from './import-open-webui.ts'
import { openMemoryStore } from './open-store.ts'
import { describeChatObject } from './open-webui-chat-description.ts'
import { enclaveIdFor, openOpenWebUiDatabase } from './open-webui-source.ts'

// `enclave import open-webui` keeps each chat as Open WebUI held it: every branch, the message ids,
// the selected leaf, the models, params and system prompt.

const dir = mkdtempSync(join(tmpdir(), 'enclave-owui-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const adaId = crypto.randomUUID()
const branching: FixtureChat = {
  id: crypto.randomUUID(), userId: adaId, title: 'Branching chat', currentId: 'm3',
  messages: [
    { id: 'm1', parentId: null, role: 'user', content: 'first question' },
    { id: 'm2', parentId: 'm1', role: 'assistant', content: 'an answer regenerated away', model: 'llama3.2' },
    { id: 'm2b', parentId: 'm1', role: 'assistant', content: 'the answer kept', model: 'llama3.2' },
    { id: 'm3', parentId: 'm2b', role: 'user', content: 'follow-up' },
    { id: 'e1', parentId: null, role: 'user', content: 'the first question, edited' },
  ],
}
const withSettings: FixtureChat = { id: crypto.randomUUID(), userId: adaId, title: 'Settings', currentId: 'a', messages: [{ id: 'a', parentId: null, role: 'user', content: 'hi' }] }
withSettings.rawChat = JSON.stringify({
  ...JSON.parse(chatJson(withSettings)), system: 'You are terse.', params: { temperature: 0.3, num_ctx: 8192, stop: ['###'] }, models: ['qwen2.5', 'llama3.2'],
})

test('contents that older versions left empty or not text come across as before: empty, or as their JSON', async () => {
  const path = join(dir, 'odd.db')
  const odd: FixtureChat = { id: crypto.randomUUID(), userId: adaId, title: 'Odd', currentId: 'b', messages: [] }
  odd.rawChat = JSON.stringify({ history: { currentId: 'b', messages: { a: { id: 'a', parentId: null, role: 'user', content: null }, b: { id: 'b', parentId: 'a', role: 'assistant', content: [{ type: 'text', text: 'hi' }] } } } })
  await writeOpenWebUiDatabase(path, [{ id: adaId, name: 'Ada', email: 'ada@example.com', role: 'admin', password: null }], [odd])
  const read = openOpenWebUiDatabase(path)
  if (!read.ok) throw new Error(read.detail)
  const store = openMemoryStore()
  await importOpenWebUi(store, read.source)
  read.source.close()
  expect((await store.chats.listCurrentPath(adaId as UserId, odd.id as never)).map((message) => message.content)).toEqual(['', '[{"type":"text","text":"hi"}]'])
  store.close()
})

test('every branch, id, the selected leaf, models, params and the system prompt come across', async () => {
  const path = join(dir, 'webui.db')
  await writeOpenWebUiDatabase(path, [{ id: adaId, name: 'Ada', email: 'ada@example.com', role: 'admin', password: null }], [branching, withSettings])
  const read = openOpenWebUiDatabase(path)
  if (!read.ok) throw new Error(read.detail)
  const store = openMemoryStore()
  const { counts } = await importOpenWebUi(store, read.source)
  read.source.close()
  expect(counts).toMatchObject({ chatsImported: 2, messagesImported: 6 })

  const tree = (await store.chats.readChatTree(adaId as UserId, enclaveIdFor('chat', branching.id) as never))!
  const described = describeChatObject(tree)
  const source = JSON.parse(chatJson(branching)) as { history: { messages: Record<string, Record<string, unknown>>; currentId: string } }
  expect(described.history).toEqual(source.history)
  expect(described.messages.map((message) => message.content)).toEqual(['first question', 'the answer kept', 'follow-up'])
  expect(described.models).toEqual(['llama3.2'])
  expect(described).toMatchObject({ files: [], title: 'Branching chat' })

  const settings = describeChatObject((await store.chats.readChatTree(adaId as UserId, withSettings.id as never))!)
  expect(settings).toMatchObject({ system: 'You are terse.', params: { temperature: 0.3, num_ctx: 8192, stop: ['###'] }, models: ['qwen2.5', 'llama3.2'] })
  store.close()
})

test('an import run again by its transaction (a conflict with another instance) reports the counts of the run that committed', async () => {
  const path = join(dir, 'retried.db')
  await writeOpenWebUiDatabase(path, [{ id: adaId, name: 'Ada', email: 'ada@example.com', role: 'admin', password: null }], [branching])
  const read = openOpenWebUiDatabase(path)
  if (!read.ok) throw new Error(read.detail)
  const store = openMemoryStore()
  // note: as PostgreSQL's engine does after SQLSTATE 40001: the first run rolls back, then fn runs again.
  const retrying = {
    ...store,
    sql: {
      ...store.sql,
      async transaction<T>(fn: () => Promise<T>): Promise<T> {
        await store.sql.transaction(async () => {
          await fn()
          throw new Error('conflict')
        }).catch(() => {})
        return store.sql.transaction(fn)
      },
    },
  }
  const report = await importOpenWebUi(retrying, read.source)
  read.source.close()
  expect(report.counts).toMatchObject({ usersImported: 1, usersAlreadyThere: 0, chatsImported: 1 })
  expect(report.notes).toEqual([])
  expect(await store.users.countUsers()).toBe(1)
  store.close()
})
