import { expect, test } from 'bun:test'
import { openMemoryStore } from '../db/open-store.ts'
import { TurnActivity } from './turn-activity.ts'
import { warmChatTurn } from './turn-warm-up.ts'

test('the chat turn warm-up runs whole turns to their end, in a store of its own, without the network', async () => {
  const fetched: string[] = []
  const original = globalThis.fetch
  globalThis.fetch = (async (input: RequestInfo | URL) => { fetched.push(String(input)); return new Response('') }) as typeof fetch
  try {
    expect(await warmChatTurn()).toBe(true)
  } finally {
    globalThis.fetch = original
  }
  expect(fetched).toEqual([])
})

test("the server's store gets the statements the turns ran prepared, and nothing in it is written", async () => {
  const server = openMemoryStore()
  try {
    const db = server.db
    const tables = (db.query("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((row) => row.name)
    const contents = () => tables.map((name) => db.query(`SELECT * FROM "${name}"`).all())
    const before = { contents: contents(), changes: db.query('SELECT total_changes() AS n').get(), texts: new Set(server.sql.statementTexts()) }
    expect(await warmChatTurn({ prepareOn: server.sql })).toBe(true)
    const prepared = server.sql.statementTexts().filter((text) => !before.texts.has(text))
    expect(prepared.some((text) => text.startsWith('INSERT INTO message '))).toBe(true)
    expect(prepared.some((text) => text.startsWith('INSERT INTO chat '))).toBe(true)
    expect(contents()).toEqual(before.contents)
    expect(db.query('SELECT total_changes() AS n').get()).toEqual(before.changes)
  } finally {
    await server.close()
  }
})

test('the warm-up waits while a user turn runs, and is skipped when users asked before it began', async () => {
  const activity = new TurnActivity()
  activity.begin()
  let ended = false
  const warming = warmChatTurn({ standAside: () => activity.standAside(), usersHaveAsked: () => activity.begun > 0 }).then((warmed) => {
    ended = true
    return warmed
  })
  await Bun.sleep(20)
  expect(ended).toBe(false)
  activity.end()
  // note: a turn had begun before the warm-up did, so it compiled the code itself: nothing is warmed.
  expect(await warming).toBe(false)

  const idle = new TurnActivity()
  expect(await warmChatTurn({ standAside: () => idle.standAside(), usersHaveAsked: () => idle.begun > 0 })).toBe(true)
})
