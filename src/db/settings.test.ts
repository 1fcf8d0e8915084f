import { expect, test } from 'bun:test'
import fc from 'fast-check'
import { openMemoryStore } from './open-store.ts'

test.each<[string, unknown]>([
  ['object', { url: 'http://gpu:11434', enabled: true, models: ['a', 'b'] }],
  ['array', [1, 'two', { three: 3 }]],
  ['string', 'Grüße 🛡️'],
  ['number', 42.5],
  ['false', false],
  ['empty object', {}],
  ['large', { text: 'x'.repeat(200_000) }],
])('a %s value round-trips', async (_, value) => {
  const { settings } = openMemoryStore()
  await settings.writeSetting('thing', value)
  expect(await settings.readSetting('thing')).toEqual(value)
})

test('an unwritten setting reads null', async () => {
  expect(await openMemoryStore().settings.readSetting('never-written')).toBeNull()
})

test('writing again replaces the value and its timestamp; others are untouched', async () => {
  let time = 1000
  const store = openMemoryStore(undefined, () => time)
  await store.settings.writeSetting('a', { v: 1 })
  await store.settings.writeSetting('b', { v: 'b' })
  time = 2000
  await store.settings.writeSetting('a', { v: 2 })
  expect(await store.settings.readSetting('a')).toEqual({ v: 2 })
  expect(await store.settings.readSetting('b')).toEqual({ v: 'b' })
  expect(store.db.query('SELECT name, updated_at FROM setting ORDER BY name').all()).toEqual([
    { name: 'a', updated_at: 2000 }, { name: 'b', updated_at: 1000 },
  ])
})

test('remove deletes the setting, and removing an absent one is harmless', async () => {
  const { settings } = openMemoryStore()
  await settings.writeSetting('a', [1])
  await settings.removeSetting('a')
  await settings.removeSetting('a')
  await settings.removeSetting('never-written')
  expect(await settings.readSetting('a')).toBeNull()
})

test('names are exact: case and whitespace matter', async () => {
  const { settings } = openMemoryStore()
  await settings.writeSetting('Theme', 'dark')
  expect(await settings.readSetting('theme')).toBeNull()
  expect(await settings.readSetting('Theme ')).toBeNull()
  expect(await settings.readSetting('Theme')).toBe('dark')
})

test('any JSON value round-trips under any name (fast-check)', async () => {
  const { settings } = openMemoryStore()
  await fc.assert(fc.asyncProperty(fc.string({ unit: 'grapheme' }), fc.jsonValue().filter((value) => value !== null), async (name, value) => {
    await settings.writeSetting(name, value)
    expect(await settings.readSetting(name)).toEqual(JSON.parse(JSON.stringify(value)))
  }), { numRuns: 100 })
})

test('values are sealed: the stored bytes hold no plaintext', async () => {
  const store = openMemoryStore()
  await store.settings.writeSetting('connections', { apiKey: 'PLAINTEXT-API-KEY-22d1' })
  const row = store.db.query<{ value: Uint8Array }, []>("SELECT value FROM setting WHERE name = 'connections'").get()!
  expect(Buffer.from(row.value).indexOf('PLAINTEXT')).toBe(-1)
})
