/**
 * What a socket turn reads of its chat before its writes, on PostgreSQL (a local server,
 * test/helpers/postgres.ts; the store as `serve` opens it, no Redis, so chats are not held): the
 * reads a turn made before (the chat row for ownership, the parent's id, the path, the settings:
 * four reads of the row and one of its settings) against the one read it makes now
 * (`chats.openTurn`), alternated in one run, wall time and process CPU per turn start. The chat
 * holds 20 messages. Run alone: `bun bench/turn-start-postgres.ts`.
 */
import { startPostgres } from '../test/helpers/postgres.ts'
import { openPostgresStore } from '../src/db/open-postgres-store.ts'
import type { ChatId, UserId } from '../src/db/ids.ts'
import { median, nowMs } from './measure.ts'

const ROUNDS = { warmups: 50, repetitions: 400 }

const postgres = await startPostgres()
try {
  const url = await postgres.createDatabase()
  const store = await openPostgresStore({
    database: { url, pool: { maxConnections: 4, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 10, maxLifetimeSeconds: 0 } },
    material: { kind: 'raw', key: crypto.getRandomValues(new Uint8Array(32)) }, source: { kind: 'env', value: 'bench' }, now: Date.now,
  })
  try {
    const made = await store.users.createUser({ email: 'ada@example.com', name: 'ada', role: 'user' })
    if (!made.ok) throw new Error(made.reason)
    const owner = made.user.id as UserId
    const chat = await store.chats.createChat(owner, 'Bench')
    const chatId = chat.id as ChatId
    for (let i = 0; i < 20; i++) await store.chats.addMessage(owner, chatId, { role: i % 2 === 0 ? 'user' : 'assistant', content: `Message ${i} of the bench chat.` })
    const parentUid = (await store.chats.listPathTo(owner, chatId))!.at(-1)!.uid

    /** The reads of a turn's start before: chat found, parent's id, path, settings. */
    const before = async () => {
      if ((await store.chats.findChatForUser(owner, chatId)) === null) throw new Error('chat gone')
      const parentId = await store.chats.findMessageIdByUid(owner, chatId, parentUid)
      const path = await store.chats.listPathTo(owner, chatId, parentId)
      const settings = await store.chats.findChatSettingsForUser(owner, chatId)
      if (path === null || settings === null) throw new Error('not found')
    }
    const after = async () => {
      const opened = await store.chats.openTurn(owner, chatId, parentUid)
      if (opened === null || opened.path === null) throw new Error('not found')
    }
    const runs = [before, after]
    for (let i = 0; i < ROUNDS.warmups; i++) for (const run of runs) await run()
    const wall: number[][] = [[], []]
    const cpu: number[][] = [[], []]
    for (let i = 0; i < ROUNDS.repetitions; i++) {
      for (const [index, run] of runs.entries()) {
        const cpuStart = process.cpuUsage()
        const start = nowMs()
        await run()
        wall[index]!.push(nowMs() - start)
        const used = process.cpuUsage(cpuStart)
        cpu[index]!.push((used.user + used.system) / 1000)
      }
    }
    const [wallBefore, wallAfter] = wall.map(median) as [number, number]
    const [cpuBefore, cpuAfter] = cpu.map(median) as [number, number]
    console.log(`turn start's chat reads on PostgreSQL, median of ${ROUNDS.repetitions} alternated: wall ${wallBefore.toFixed(3)} ms before, ${wallAfter.toFixed(3)} ms now (${(wallBefore / wallAfter).toFixed(2)}x); process CPU ${cpuBefore.toFixed(3)} / ${cpuAfter.toFixed(3)} ms`)
  } finally {
    await store.close()
  }
} finally {
  await postgres.remove()
}
