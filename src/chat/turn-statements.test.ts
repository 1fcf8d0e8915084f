/**
 * The statements one socket chat turn issues on each engine (a follow-up question in a held chat,
 * its answer from a stand-in Ollama, stored at the end): counted, so a turn's database work cannot
 * silently grow again. On PostgreSQL each statement is a network round trip. The chat row is read
 * once at the turn's start (ownership, the parent, the settings, one statement) and again by each
 * write (where a deletion may race it), not more.
 * PostgreSQL: a real server (test/helpers/postgres.ts); the repository holds chats as an instance
 * that hears of the others' writes (shared-writes.ts), and as one that does not.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startPostgres, type PostgresServer } from '../../test/helpers/postgres.ts'
import { createAccountChanges } from '../db/account-changes.ts'
import { createChatRepo } from '../db/chats.ts'
import type { SqlEngine, SqlValue } from '../db/engine.ts'
import type { UserId } from '../db/ids.ts'
import { migratePostgres } from '../db/migrate-postgres.ts'
import { openMemoryStore } from '../db/open-store.ts'
import { createPostgresEngine } from '../db/postgres-engine.ts'
import { silentLogger } from '../log/logger.ts'
import { startChatTurn } from './chat-turn.ts'
import { createConnections } from './connections.ts'
import { createContextWindows } from './context-window.ts'
import { LiveStreams } from './live-streams.ts'
import { SocketHub } from './socket-hub.ts'
import { turnOfSend } from './turn-place.ts'

let server: PostgresServer
beforeAll(async () => { server = await startPostgres() }, 60_000)
afterAll(async () => { await server.remove() })

const MODEL = 'counted:latest'
const at = '2026-01-01T00:00:00Z'
const answerLines = [
  { model: MODEL, created_at: at, message: { role: 'assistant', content: 'An answer.' }, done: false },
  { model: MODEL, created_at: at, message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', total_duration: 1, load_duration: 1, prompt_eval_count: 1, prompt_eval_duration: 1, eval_count: 1, eval_duration: 1 },
].map((line) => `${JSON.stringify(line)}\n`).join('')
const standInOllama = async (url: string): Promise<Response> => {
  if (url.endsWith('/api/tags')) return Response.json({ models: [{ name: MODEL, model: MODEL, modified_at: at, size: 1, digest: 'counted', details: { family: 'counted' } }] })
  if (url.endsWith('/api/show')) return Response.json({ model_info: { 'general.architecture': 'counted', 'counted.context_length': 4096 } })
  return new Response(answerLines, { headers: { 'content-type': 'application/x-ndjson' } })
}

/** The engine, with each statement it is asked to run recorded (transactions are not statements of their own here). */
function counted(sql: SqlEngine): { sql: SqlEngine; statements: string[] } {
  const statements: string[] = []
  const record = (text: string) => statements.push(text.replace(/\s+/g, ' ').trim())
  return {
    statements,
    sql: Object.assign(Object.create(sql) as SqlEngine, {
      get: <Row>(text: string, ...params: SqlValue[]) => { record(text); return sql.get<Row>(text, ...params) },
      all: <Row>(text: string, ...params: SqlValue[]) => { record(text); return sql.all<Row>(text, ...params) },
      run: (text: string, ...params: SqlValue[]) => { record(text); return sql.run(text, ...params) },
      transaction: <T>(fn: () => Promise<T>) => sql.transaction(fn),
      inTransaction: () => sql.inTransaction(),
      afterCommit: (fn: () => void) => sql.afterCommit(fn),
      currentTransaction: () => sql.currentTransaction(),
    }),
  }
}

async function open(dialect: 'sqlite' | 'postgresql', isAnnounced: boolean) {
  const store = openMemoryStore()
  const made = await store.users.createUser({ email: 'ada@example.com', name: 'ada', role: 'user' })
  if (!made.ok) throw new Error(made.reason)
  const ada = made.user.id as UserId
  let engine: SqlEngine = store.sql
  if (dialect === 'postgresql') {
    engine = createPostgresEngine({ url: await server.createDatabase(), pool: { maxConnections: 4, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 10, maxLifetimeSeconds: 0 } })
    await migratePostgres(engine)
    await engine.run('INSERT INTO "user" (id, email_index, email, name, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)', ada, new TextEncoder().encode(ada), new Uint8Array([1]), new Uint8Array([1]), 'user', 1, 1)
  }
  const { sql, statements } = counted(engine)
  const chats = createChatRepo(sql, store.dataKeys, Date.now, createAccountChanges(), undefined, { isAnnounced })
  const connections = createConnections({ urls: ['http://127.0.0.1:1'], timeouts: { firstByteMs: 10_000, idleMs: 10_000 }, settings: store.settings, now: Date.now, fetch: standInOllama })
  await connections.listModels()
  const deps = {
    chats, connections, streams: new LiveStreams(Date.now, 0), hub: new SocketHub(), log: silentLogger, checkpointIntervalMs: 60_000,
    titles: null, maxConcurrentAnswers: 1, contextWindows: createContextWindows(Date.now),
  }
  /** Runs one `chat:send` turn to its end; returns the statements it issued. */
  const turn = async (frame: { chatId?: string; parentId?: string | null; content: string; system?: string }) => {
    statements.length = 0
    const started = await startChatTurn(deps, ada, turnOfSend({ type: 'chat:send', model: MODEL, ...frame }))
    if (!started.ok) throw new Error(started.code)
    await started.done
    return { chatId: started.stream.chatId, statements: [...statements] }
  }
  return {
    chats, ada, turn,
    close: async () => {
      if (dialect === 'postgresql') await engine.close()
      store.close()
    },
  }
}

/** Statements reading a chat's own row (by id and owner, or by seq). */
const chatRowReads = (statements: string[]) => statements.filter((text) => /^SELECT .* FROM chat WHERE (id = \?|seq = \?)/.test(text))

/**
 * Statements per turn (a follow-up naming its parent / asking under the selected leaf): the chat
 * row read once with its settings and the parent's id, the path from memory (read from the rows when
 * chats are not held), then the question and the answer stored, three statements each (the row
 * checked again, the insert, the chat's leaf). SQLite also asks whether another connection wrote the file.
 * note: before the turn read its chat row in one statement, 13 / 11 statements on SQLite, 12 / 10 on
 * PostgreSQL holding chats, 13 / 11 not holding them (7 / 6 reads of the chat row).
 */
const EXPECTED: Record<string, { parent: number; leaf: number }> = {
  'sqlite:true': { parent: 8, leaf: 8 },
  'postgresql:true': { parent: 7, leaf: 7 },
  'postgresql:false': { parent: 8, leaf: 8 },
}

describe.each([
  ['sqlite', true],
  ['postgresql', true],
  ['postgresql', false],
] as const)('a chat turn on %s (chats held: %p)', (dialect, isAnnounced) => {
  test('issues a fixed number of statements, reading the chat row once before its two writes', async () => {
    const { chats, ada, turn, close } = await open(dialect, isAnnounced)
    try {
      const first = await turn({ content: 'First question.' })
      await turn({ chatId: first.chatId, content: 'Second question.' })
      const parentId = (await chats.listPathTo(ada, first.chatId as never))!.at(-1)!.uid
      const named = await turn({ chatId: first.chatId, parentId, content: 'Third question.' })
      const leaf = await turn({ chatId: first.chatId, content: 'Fourth question.' })
      expect({ parent: named.statements.length, leaf: leaf.statements.length }).toEqual(EXPECTED[`${dialect}:${isAnnounced}`]!)
      expect(chatRowReads(named.statements)).toHaveLength(3)
      expect(chatRowReads(leaf.statements)).toHaveLength(3)
      expect((await chats.listPathTo(ada, first.chatId as never))!.map((message) => message.content)).toEqual([
        'First question.', 'An answer.', 'Second question.', 'An answer.', 'Third question.', 'An answer.', 'Fourth question.', 'An answer.',
      ])
    } finally {
      await close()
    }
  }, 60_000)

  test('still refuses a chat not found, a message not in it, and a deleted chat, before writing', async () => {
    const { chats, ada, turn, close } = await open(dialect, isAnnounced)
    try {
      const first = await turn({ content: 'First question.' })
      await expect(turn({ chatId: first.chatId, parentId: 'no-such-message', content: 'Lost.' })).rejects.toThrow('message_not_found')
      await expect(turn({ chatId: crypto.randomUUID(), content: 'Lost.' })).rejects.toThrow('chat_not_found')
      expect(await chats.deleteChatForUser(ada, first.chatId as never)).toBe(true)
      await expect(turn({ chatId: first.chatId, content: 'Lost.' })).rejects.toThrow('chat_not_found')
    } finally {
      await close()
    }
  }, 60_000)
})
