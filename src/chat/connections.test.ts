import { expect, test } from 'bun:test'
import { startFakeOllama, type FakeModel, type FakeOllama } from '../../test/fakes/ollama.ts'
import { llama, mistral, qwen, useOllamaPair } from '../../test/fakes/ollama-pair.ts'
import { openMemoryStore } from '../db/open-store.ts'
import { CONNECTIONS_SETTING, createConnections, MODEL_LIST_TTL_MS } from './connections.ts'

const timeouts = { firstByteMs: 2000, idleMs: 2000 }

const pair = useOllamaPair()

/** Connections over a fresh store, with a clock the test moves. */
function connectionsFor(urls: string[]) {
  const store = openMemoryStore()
  const clock = { at: 1_000_000 }
  const connections = createConnections({ urls, timeouts, settings: store.settings, now: () => clock.at })
  return { connections, store, clock }
}

const tagsRequests = (fake: FakeOllama) => fake.requests.filter((request) => request.path === '/api/tags').length

test('the listing is the union of every connection, a shared model once with each connection that has it', async () => {
  const { connections } = connectionsFor([pair.first.url, pair.second.url])
  const { models, statuses } = await connections.listModels()
  expect(models.map(({ name, connections: at }) => [name, at])).toEqual([
    ['qwen2.5:0.5b', [0]], ['llama3.2:1b', [0, 1]], ['mistral:7b', [1]],
  ])
  expect(models[0]!.entry).toMatchObject({ name: 'qwen2.5:0.5b', sizeBytes: qwen.size, digest: qwen.digest })
  expect(statuses).toEqual([
    { connection: 0, url: pair.first.url, ok: true, modelCount: 2 },
    { connection: 1, url: pair.second.url, ok: true, modelCount: 2 },
  ])
})

test('a connection that is down is reported with a reason, and the others still list their models', async () => {
  const { connections } = connectionsFor([pair.downUrl, pair.second.url])
  const { models, statuses } = await connections.listModels()
  expect(models.map(({ name, connections: at }) => [name, at])).toEqual([['llama3.2:1b', [1]], ['mistral:7b', [1]]])
  expect(statuses[0]).toEqual({ connection: 0, url: pair.downUrl, ok: false, reason: 'unreachable', message: 'Ollama is not reachable.' })
  expect(statuses[1]).toMatchObject({ ok: true })
})

test('a listing is reused until the clock moves past the TTL', async () => {
  const { connections, clock } = connectionsFor([pair.first.url])
  const before = tagsRequests(pair.first)
  await connections.listModels()
  await connections.listModels()
  clock.at += MODEL_LIST_TTL_MS - 1
  await connections.clientFor('qwen2.5:0.5b')
  expect(tagsRequests(pair.first)).toBe(before + 1)
  clock.at += 1
  await connections.listModels()
  expect(tagsRequests(pair.first)).toBe(before + 2)
  connections.forgetModels()
  await connections.listModels()
  expect(tagsRequests(pair.first)).toBe(before + 3)
})

test('listedClientFor answers at once from the last listing; past the TTL it still answers while a fresh listing is fetched behind it', async () => {
  const { connections, clock } = connectionsFor([pair.first.url, pair.second.url])
  expect(connections.listedClientFor('llama3.2:1b')).toBeNull() // nothing listed yet: the caller waits on clientFor
  await connections.clientFor('llama3.2:1b')
  expect(connections.listedClientFor('llama3.2:1b')?.map(({ connection }) => connection)).toEqual([0, 1])
  expect(connections.listedClientFor('no-such-model:1b')).toBeNull()

  const before = tagsRequests(pair.first)
  clock.at += MODEL_LIST_TTL_MS
  expect(connections.listedClientFor('mistral:7b')?.map(({ connection }) => connection)).toEqual([1])
  await Bun.sleep(50)
  expect(tagsRequests(pair.first)).toBe(before + 1) // the refresh went out behind the answer
  await connections.listModels()
  expect(tagsRequests(pair.first)).toBe(before + 1) // and is the listing now reused

  connections.forgetModels() // after a pull or delete the old listing is not trusted
  expect(connections.listedClientFor('mistral:7b')).toBeNull()
})

test('clientFor gives the connections that have the model in list order, and skips one that went down', async () => {
  const spare = await startFakeOllama({ models: [llama] })
  const { connections, clock } = connectionsFor([spare.url, pair.first.url, pair.second.url])
  expect((await connections.clientFor('llama3.2:1b')).map(({ connection }) => connection)).toEqual([0, 1, 2])
  expect((await connections.clientFor('mistral:7b')).map(({ connection }) => connection)).toEqual([2])
  expect(await connections.clientFor('qwen2.5')).toEqual([]) // qwen2.5:latest is not qwen2.5:0.5b
  expect(await connections.clientFor('nomic-embed-text')).toEqual([])

  await spare.stop()
  clock.at += MODEL_LIST_TTL_MS
  const failover = await connections.clientFor('llama3.2:1b')
  expect(failover.map(({ connection }) => connection)).toEqual([1, 2])
  expect(await failover[0]!.client.version()).toBe('0.12.6')
})

test('a name without a tag means :latest', async () => {
  const latest: FakeModel = { ...mistral, name: 'phi3:latest', model: 'phi3:latest' }
  const fake = await startFakeOllama({ models: [latest] })
  const { connections } = connectionsFor([fake.url])
  expect((await connections.clientFor('phi3')).map(({ connection }) => connection)).toEqual([0])
  await fake.stop()
})

test('an admin-saved list replaces the environment one, is stored sealed, survives a restart, and null goes back', async () => {
  const { connections, store } = connectionsFor([pair.first.url])
  expect(connections.listUrls()).toEqual({ urls: [pair.first.url], source: 'env' })
  await connections.listModels()

  expect(await connections.replaceUrls([`${pair.second.url}/`])).toEqual({ ok: true })
  expect(connections.listUrls()).toEqual({ urls: [pair.second.url], source: 'settings' })
  expect((await connections.listModels()).models.map(({ name }) => name)).toEqual(['llama3.2:1b', 'mistral:7b']) // the cache was dropped
  expect(await store.settings.readSetting(CONNECTIONS_SETTING)).toEqual([pair.second.url])
  const raw = store.db.query<{ value: Uint8Array }, []>(`SELECT value FROM setting WHERE name = '${CONNECTIONS_SETTING}'`).get()!
  expect(Buffer.from(raw.value).toString('latin1')).not.toContain('127.0.0.1')

  const restarted = createConnections({ urls: [pair.first.url], timeouts, settings: store.settings, now: () => 0 })
  await restarted.fresh()
  expect(restarted.listUrls()).toEqual({ urls: [pair.second.url], source: 'settings' })

  expect(await connections.replaceUrls(null)).toEqual({ ok: true })
  expect(connections.listUrls()).toEqual({ urls: [pair.first.url], source: 'env' })
  expect(await store.settings.readSetting(CONNECTIONS_SETTING)).toBeNull()
})

test.each<[string, string[], string]>([
  ['empty', [], 'from 1 to 32 Ollama URLs'],
  ['not a URL', ['gpu:11434'], 'an absolute http:// or https:// URL'],
  ['another scheme', ['file:///etc/passwd'], 'an absolute http:// or https:// URL'],
  ['credentials', ['http://admin:hunter2@gpu:11434'], 'without credentials'],
  ['a duplicate', ['http://gpu:11434', 'http://GPU:11434/'], 'each URL at most once'],
  ['too many', Array.from({ length: 33 }, (_, i) => `http://gpu${i}:11434`), 'from 1 to 32 Ollama URLs'],
])('a list that is %s is refused and nothing changes', async (_, urls, expected) => {
  const { connections, store } = connectionsFor([pair.first.url])
  const result = await connections.replaceUrls(urls)
  expect(result.ok).toBe(false)
  expect(!result.ok && result.expected).toContain(expected)
  expect(JSON.stringify(result)).not.toContain('hunter2')
  expect(connections.listUrls()).toEqual({ urls: [pair.first.url], source: 'env' })
  expect(await store.settings.readSetting(CONNECTIONS_SETTING)).toBeNull()
})

test('checkHealth reports each version, or why a connection is down', async () => {
  const { connections } = connectionsFor([pair.first.url, pair.downUrl, pair.second.url])
  expect(await connections.checkHealth()).toEqual([
    { connection: 0, url: pair.first.url, reachable: true, version: '0.12.6' },
    { connection: 1, url: pair.downUrl, reachable: false, reason: 'unreachable', message: 'Ollama is not reachable.' },
    { connection: 2, url: pair.second.url, reachable: true, version: '0.13.0' },
  ])
})

test('a stored value that is not a list of URLs stops startup instead of being ignored', async () => {
  const store = openMemoryStore()
  await store.settings.writeSetting(CONNECTIONS_SETTING, ['http://ok:1', 42])
  const connections = createConnections({ urls: [pair.first.url], timeouts, settings: store.settings, now: Date.now })
  await expect(connections.fresh()).rejects.toThrow(/not a valid list/)
  await expect(connections.listModels()).rejects.toThrow(/not a valid list/)
})

test('a connection turned off keeps its index, is not asked, serves no chat, and stays off after a restart', async () => {
  const { connections, store, clock } = connectionsFor([pair.first.url, pair.second.url])
  expect(await connections.setConnectionEnabled(pair.first.url, false)).toBe(true)
  expect(await connections.setConnectionEnabled('http://not-in-the-list:11434', false)).toBe(false)
  const asked = tagsRequests(pair.first)
  const { models, statuses } = await connections.listModels()
  expect(tagsRequests(pair.first)).toBe(asked)
  expect(statuses[0]).toEqual({ connection: 0, url: pair.first.url, ok: false, reason: 'disabled', message: 'Turned off by an administrator.' })
  expect(models.every((model) => !model.connections.includes(0))).toBe(true)
  expect(await connections.clientFor('qwen2.5:0.5b')).toEqual([])
  expect(connections.connectionAt(0)?.connection).toBe(0)

  const restarted = createConnections({ urls: [pair.first.url, pair.second.url], timeouts, settings: store.settings, now: () => clock.at })
  await restarted.fresh()
  expect(restarted.listDisabledUrls()).toEqual([pair.first.url])
  expect(await restarted.setConnectionEnabled(pair.first.url, true)).toBe(true)
  const again = createConnections({ urls: [pair.first.url], timeouts, settings: store.settings, now: () => clock.at })
  await again.fresh()
  expect(again.listDisabledUrls()).toEqual([])
})

test('isFresh: false until the lists are read, then true for a second, and it puts another instance\'s saved list in effect', async () => {
  const { connections, store, clock } = connectionsFor([pair.first.url])
  const other = createConnections({ urls: [pair.first.url], timeouts, settings: store.settings, now: () => clock.at })
  expect(connections.isFresh()).toBe(false)
  await connections.fresh()
  expect(connections.isFresh()).toBe(true)
  expect(await other.replaceUrls([pair.second.url])).toEqual({ ok: true })
  expect(connections.isFresh()).toBe(true)
  clock.at += 1000
  expect(connections.isFresh()).toBe(false)
  await connections.fresh()
  expect(connections.isFresh()).toBe(true)
  expect(connections.listUrls()).toEqual({ urls: [pair.second.url], source: 'settings' })
})
