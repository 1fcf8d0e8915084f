import { afterEach, beforeEach, expect, test } from 'bun:test'
import { bearer, signUp, PASSWORD } from '../helpers/accounts.ts'
import { makeRoot, startKeyedApp, writeKeyFile, type KeyedApp } from '../helpers/keyed-test-app.ts'
import { req } from '../helpers/test-app.ts'
import { readKeyInventory } from '../../src/db/key-inventory.ts'
import { verifySealedFields } from '../../src/db/verify-fields.ts'
import type { UserId } from '../../src/db/ids.ts'

let root = ''
let remove = () => {}
let keyPath = ''
let running: KeyedApp
beforeEach(() => {
  ({ root, remove } = makeRoot())
  keyPath = writeKeyFile(root, 'master.key').path
  running = startKeyedApp(root, keyPath, {}, 10)
})
afterEach(async () => {
  await running.close()
  remove()
})

const call = async (method: string, path: string, token: string, body?: unknown) => {
  const res = await running.app.handle(req(method, path, body, bearer(token)))
  return { status: res.status, body: await res.json() }
}

async function waitUntilFinished(token: string, onEach: () => Promise<void>): Promise<Record<string, unknown>> {
  for (let i = 0; i < 2000; i++) {
    await onEach()
    const { body } = await call('GET', '/api/v1/admin/keys/rotate-data', token)
    if (body.state !== 'running') return body
    await Bun.sleep(1)
  }
  throw new Error('rotation did not finish')
}

test('rotating every key while users read and write, interrupted by a restart and resumed: all readable, none under the old version', async () => {
  const admin = await signUp(running.app, 'admin@example.com')
  const member = await signUp(running.app, 'bob@example.com', PASSWORD, 'Bob')
  await running.store.users.setUserRole(member.id as UserId, 'user')
  const written = new Map<string, { token: string; content: string }>()
  const tokens = [admin.token, member.token]
  // a backlog of existing rows, so the rotation takes many batches
  for (const [n, owner] of [admin.id, member.id].entries()) {
    for (let c = 0; c < 8; c++) await running.store.chats.createChat(owner as UserId, `old ${n}/${c}`, Array.from({ length: 10 }, (_, m) => ({ role: 'user' as const, content: `old ${n}/${c}/${m}` })))
  }
  let writes = 0
  const writeAndRead = async () => {
    const token = tokens[writes % 2]!
    const content = `during rotation ${writes++}`
    const created = await call('POST', '/api/v1/chats/new', token, { chat: { title: content, messages: [{ role: 'user', content }] } })
    expect(created.status).toBe(200)
    written.set(created.body.id, { token, content })
    const list = await call('GET', '/api/v1/chats/?page=1', token)
    expect(list.status).toBe(200)
    const first = await call('GET', `/api/v1/chats/${list.body.at(-1).id}`, token)
    expect(first.status).toBe(200)
  }

  const started = await call('POST', '/api/v1/admin/keys/rotate-data', admin.token, {})
  expect(started.status).toBe(202)
  expect(started.body).toMatchObject({ state: 'running', pendingOwners: 3 })
  expect((await call('POST', '/api/v1/admin/keys/rotate-data', admin.token, {})).status).toBe(409)
  for (let i = 0; i < 3; i++) {
    await writeAndRead()
    await Bun.sleep(1)
  }
  const midway = (await call('GET', '/api/v1/admin/keys/rotate-data', admin.token)).body
  expect(midway.batches).toBeGreaterThan(0)
  expect(midway.state).toBe('running')

  // interrupted: the server stops mid-rotation and starts again
  await running.close()
  running = startKeyedApp(root, keyPath, {}, 10)
  expect(await running.lifecycle.rotationJob.resumeIfPending()).toBe(true)
  const finished = await waitUntilFinished(admin.token, writeAndRead)
  expect(finished.state).toBe('finished')

  const inventory = await readKeyInventory(running.store.sql)
  expect(inventory.valuesByVersion.map((row) => row.version)).toEqual([2])
  expect(running.store.db.query("SELECT count(*) AS n FROM data_key WHERE version = 1 AND owner_id != 'email-index'").get()).toEqual({ n: 0 })
  expect((await verifySealedFields(running.store.sql, running.store.dataKeys)).failures).toEqual([])
  expect(written.size).toBeGreaterThan(3)
  for (const [chatId, { token, content }] of written) {
    const chat = await call('GET', `/api/v1/chats/${chatId}`, token)
    expect(chat.body.chat.messages.map((message: { content: string }) => message.content)).toEqual([content])
  }
})

test('one user: the admin names them; an unknown or malformed id is 404', async () => {
  const admin = await signUp(running.app, 'admin@example.com')
  const member = await signUp(running.app, 'bob@example.com', PASSWORD, 'Bob')
  for (const userId of ['not-a-uuid', crypto.randomUUID(), "' OR 1=1 --", 'x'.repeat(65)]) {
    expect((await call('POST', '/api/v1/admin/keys/rotate-data', admin.token, { user_id: userId })).status).toBe(userId.length > 64 ? 422 : 404)
  }
  const started = await call('POST', '/api/v1/admin/keys/rotate-data', admin.token, { user_id: member.id })
  expect(started.status).toBe(202)
  await waitUntilFinished(admin.token, async () => {})
  const versions = running.store.db.query<{ owner_id: string; version: number }, []>("SELECT owner_id, version FROM data_key WHERE owner_id NOT IN ('system', 'email-index')").all()
  expect(versions).toContainEqual({ owner_id: member.id, version: 2 })
  expect(versions).toContainEqual({ owner_id: admin.id, version: 1 })
  expect(running.audit.entries.at(-1)).toMatchObject({ event: 'data_key_rotation_started', targetId: member.id })
})
