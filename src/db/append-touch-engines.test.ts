/**
 * An append's chat-row UPDATE on both engines (chat-rows.ts, touchAppended): in the millisecond the
 * row already holds it leaves `updated_at` out of the SET, any other time it sets it as before. The
 * rows must end as the unconditional UPDATE leaves them, whatever the clock does (equal, later,
 * earlier). A reference store runs the same calls with the conditional statement answered "no row"
 * unrun, so every append takes the unconditional `UPDATE chat SET updated_at = ?, current_id = ?`
 * of before; the chat rows' plain columns and the listings' order must come out the same.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startPostgres, type PostgresServer } from '../../test/helpers/postgres.ts'
import { createAccountChanges } from './account-changes.ts'
import { createChatRepo } from './chats.ts'
import type { SqlEngine, SqlValue } from './engine.ts'
import { newChatId, type ChatId, type MessageId, type UserId } from './ids.ts'
import { migratePostgres } from './migrate-postgres.ts'
import { openMemoryStore } from './open-store.ts'
import { createPostgresEngine } from './postgres-engine.ts'

let server: PostgresServer
beforeAll(async () => { server = await startPostgres() }, 60_000)
afterAll(async () => { await server.remove() })

const pool = { maxConnections: 4, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 10, maxLifetimeSeconds: 0 }
const SAME_MS_UPDATE = 'UPDATE chat SET current_id = ? WHERE seq = ? AND updated_at = ?'

type Spy = { sameMs: number; sameMsChanged: number; before?: (engine: SqlEngine, params: SqlValue[]) => Promise<void> }

/**
 * A repository on a fresh store (SQLite in memory, or a migrated PostgreSQL database) with two users,
 * its clock set by the test. `reference`: the same-millisecond statement answers no row without running.
 */
async function open(dialect: 'sqlite' | 'postgresql', reference: boolean) {
  const store = openMemoryStore()
  const users: UserId[] = []
  for (const name of ['ada', 'eve']) {
    const made = await store.users.createUser({ email: `${name}@example.com`, name, role: 'user' })
    if (!made.ok) throw new Error(made.reason)
    users.push(made.user.id)
  }
  let sql: SqlEngine = store.sql
  if (dialect === 'postgresql') {
    sql = createPostgresEngine({ url: await server.createDatabase(), pool })
    await migratePostgres(sql)
    for (const id of users) {
      await sql.run('INSERT INTO "user" (id, email_index, email, name, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)', id, new TextEncoder().encode(id), new Uint8Array([1]), new Uint8Array([1]), 'user', 1, 1)
    }
  }
  const engine = sql
  const spy: Spy = { sameMs: 0, sameMsChanged: 0 }
  const watched: SqlEngine = Object.create(engine, {
    run: {
      value: async (text: string, ...params: SqlValue[]) => {
        if (text !== SAME_MS_UPDATE) return engine.run(text, ...params)
        spy.sameMs++
        if (reference) return { changes: 0 }
        await spy.before?.(engine, params)
        const result = await engine.run(text, ...params)
        spy.sameMsChanged += result.changes
        return result
      },
    },
  })
  let time = 1_750_000_000_000
  const chats = createChatRepo(watched, store.dataKeys, () => time, createAccountChanges())
  return {
    chats, users: users as [UserId, UserId], sql: engine, spy,
    setTime: (at: number) => { time = at },
    /** Every chat's plain columns in seq order, with the chat id as its index in `ids` (ids are random per store). */
    rows: async (ids: readonly ChatId[]) => (await engine.all<Record<string, unknown>>(
      'SELECT seq, id, pinned, archived, folder_id, current_id, created_at, updated_at FROM chat ORDER BY seq')).map((row) => ({ ...row, id: ids.indexOf(row.id as ChatId) })),
    close: async () => {
      if (dialect === 'postgresql') await engine.close()
      store.close()
    },
  }
}

describe.each(['sqlite', 'postgresql'] as const)('%s', (dialect) => {
  test('random appends with the clock equal, later and earlier: chat rows and listings as the unconditional UPDATE leaves them', async () => {
    const fast = await open(dialect, false)
    const slow = await open(dialect, true)
    let seed = 11
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648
    let time = 1_750_000_000_000
    // note: the same chat ids in both stores, so ties on updated_at (the all-chats page breaks them by id) order alike.
    const chatIds = Array.from({ length: 5 }, () => newChatId())
    const ids: [ChatId[], ChatId[]] = [chatIds, chatIds]
    const added: MessageId[][] = []
    let earlier = 0
    const both = async <T>(call: (side: typeof fast, index: 0 | 1) => Promise<T>): Promise<[T, T]> => [await call(fast, 0), await call(slow, 1)]
    for (let c = 0; c < 5; c++) {
      const owner = c === 4 ? 1 : 0
      await both((side) => side.chats.startChat(side.users[owner], chatIds[c]!, `chat ${c}`, { role: 'user', content: `first ${c}` }))
      added.push([])
    }
    for (let step = 0; step < 400; step++) {
      // note: about half in the millisecond before (a burst), the rest later, earlier (a clock set back) or much later.
      const clock = random()
      if (clock >= 0.5 && clock < 0.75) time += 1 + Math.floor(random() * 3)
      else if (clock >= 0.75 && clock < 0.9) time -= 1 + Math.floor(random() * 5)
      else if (clock >= 0.9) time += 1_000 + Math.floor(random() * 100_000)
      fast.setTime(time)
      slow.setTime(time)
      const c = Math.floor(random() * 5)
      const who = (index: 0 | 1) => (index === 0 ? fast : slow).users[c === 4 ? 1 : 0]
      const what = random()
      if (what < 0.8) {
        const stored = Number((await fast.sql.get<{ updated_at: number }>('SELECT updated_at FROM chat WHERE id = ?', ids[0][c]!))!.updated_at)
        if (time < stored) earlier++
        const parent = random() < 0.2 && added[c]!.length > 0 ? added[c]![Math.floor(random() * added[c]!.length)] : undefined
        const [one, two] = await both((side, i) => side.chats.addMessage(who(i), ids[i][c]!, { role: 'user', content: `m${step}`, parentId: parent }))
        expect(one!.id).toBe(two!.id)
        added[c]!.push(one!.id)
      } else if (what < 0.85) {
        await both((side, i) => side.chats.renameChat(who(i), ids[i][c]!, `renamed ${step}`))
      } else if (what < 0.9 && added[c]!.length > 0) {
        const leaf = added[c]![Math.floor(random() * added[c]!.length)]!
        await both((side, i) => side.chats.setCurrentMessage(who(i), ids[i][c]!, leaf))
      } else if (what < 0.95) {
        const archived = random() < 0.5
        await both((side, i) => side.chats.setChatArchived(who(i), ids[i][c]!, archived))
      } else {
        const pinned = random() < 0.5
        await both((side, i) => side.chats.setChatPinned(who(i), ids[i][c]!, pinned))
      }
      if (step % 25 === 24) expect(await fast.rows(ids[0])).toEqual(await slow.rows(ids[1]))
    }
    expect(await fast.rows(ids[0])).toEqual(await slow.rows(ids[1]))
    for (const owner of [0, 1] as const) {
      const order = async (side: typeof fast, index: 0 | 1) => {
        const all = (await side.chats.listChatsForUser(side.users[owner], { limit: -1, offset: 0 })).map((chat) => ids[index].indexOf(chat.id))
        const live = (await side.chats.listFilteredChatsForUser(side.users[owner], 'live', { limit: -1, offset: 0 })).map((chat) => ids[index].indexOf(chat.id))
        const chats = await Promise.all(ids[index].map((id) => side.chats.findChatForUser(side.users[owner], id)))
        return { all, live, times: chats.map((chat) => chat === null ? null : [chat.updatedAt, chat.currentId]) }
      }
      expect(await order(fast, 0)).toEqual(await order(slow, 1))
    }
    // note: every path was taken: appends in the millisecond the row held (the statement without updated_at), and earlier ones.
    expect(fast.spy.sameMsChanged).toBeGreaterThan(20)
    expect(slow.spy.sameMs).toBe(fast.spy.sameMs)
    expect(earlier).toBeGreaterThan(10)
    await fast.close()
    await slow.close()
  }, 60_000)

  test('a write to the chat row within the append\'s transaction, between its read and its UPDATE: updated_at still ends at the append\'s time', async () => {
    const side = await open(dialect, false)
    const [ada] = side.users
    const chat = await side.chats.createChat(ada, 'raced', [{ role: 'user', content: 'first' }])
    const at = 1_750_000_000_000
    // note: a write in the append's own transaction (the engine runs the spy there), so the row no longer holds `at` when
    // the UPDATE runs; another instance's committed write would instead fail a PostgreSQL transaction (SERIALIZABLE), run again.
    side.spy.before = async (engine, params) => { await engine.run('UPDATE chat SET updated_at = updated_at + 7 WHERE seq = ?', params[1]!) }
    const added = (await side.chats.addMessage(ada, chat.id, { role: 'user', content: 'second' }))!
    expect(side.spy.sameMs).toBe(1)
    expect(side.spy.sameMsChanged).toBe(0)
    const row = (await side.sql.get<{ updated_at: number; current_id: number }>('SELECT updated_at, current_id FROM chat WHERE id = ?', chat.id))!
    expect([Number(row.updated_at), Number(row.current_id)]).toEqual([at, added.id])
    await side.close()
  })
})
