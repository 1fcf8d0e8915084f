import { describe, expect, test } from 'bun:test'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { countStoredRows, startBinary, tempDirsRemovedAfterAll, type RunningBinary } from '../helpers/binary.ts'

// The compiled server's WAL checkpointer (src/db/wal-checkpointer.ts): its worker is found in the
// binary and copies the WAL into the database while the server stores chats; a clean stop leaves the
// WAL empty; a killed server loses no chat it answered for.
const tempDir = tempDirsRemovedAfterAll()
const PER_CHAT = 20
const CHATS = 400

function chatBody(title: string) {
  const ids = Array.from({ length: PER_CHAT }, (_, i) => `m${i}`)
  const messages = Object.fromEntries(ids.map((id, i) => [id, {
    id, parentId: ids[i - 1] ?? null, childrenIds: ids[i + 1] === undefined ? [] : [ids[i + 1]], role: i % 2 === 0 ? 'user' : 'assistant',
    content: `${Buffer.from(crypto.getRandomValues(new Uint8Array(512))).toString('hex')} ${i}`, timestamp: 1_700_000_000 + i,
  }]))
  return { chat: { title, history: { messages, currentId: ids.at(-1) }, messages: Object.values(messages) } }
}

const threadsOf = (pid: number) => Number(/Threads:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1])

async function signedIn(server: RunningBinary): Promise<(title: string) => Promise<number>> {
  const post = (path: string, body: unknown, token?: string) => fetch(`${server.url}${path}`, {
    method: 'POST', body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
  })
  const signup = await post('/api/v1/auths/signup', { name: 'Wal', email: 'wal@example.com', password: 'wal password, long enough' })
  expect(signup.status).toBe(200)
  const { token } = (await signup.json()) as { token: string }
  return async (title) => {
    const res = await post('/api/v1/chats/new', chatBody(title), token)
    await res.arrayBuffer()
    return res.status
  }
}

describe('WAL checkpoints in the compiled server', () => {
  test('the worker checkpoints while chats are stored, and a clean stop leaves the WAL checkpointed', async () => {
    const cwd = tempDir()
    const server = await startBinary({ cwd })
    const database = join(cwd, 'data', 'enclave.db')
    try {
      const store = await signedIn(server)
      const sizeBefore = statSync(database).size
      const threadsBefore = threadsOf(server.pid)
      // 400 chats of 20 messages of 1 KB (8 MB): more than the 1,000 frames of 8 KB that start a checkpoint
      for (let i = 0; i < CHATS; i++) expect(await store(`chat ${i}`)).toBe(200)
      // the checkpointer's thread started (it ends itself 10 s after the last commit)
      expect(threadsOf(server.pid)).toBe(threadsBefore + 1)
      // at least half of it copied into the database file while the server runs (the rest may wait in the WAL)
      const deadline = Date.now() + 20_000
      while (statSync(database).size < sizeBefore + (CHATS * PER_CHAT * 1024) / 2 && Date.now() < deadline) await Bun.sleep(20)
      expect(statSync(database).size).toBeGreaterThan(sizeBefore + (CHATS * PER_CHAT * 1024) / 2)
      expect(server.output()).not.toContain('WAL checkpointer stopped')
    } finally {
      expect(await server.stop()).toBe(0)
    }
    const wal = `${database}-wal`
    expect(existsSync(wal) ? statSync(wal).size : 0).toBe(0)
    expect(countStoredRows(cwd, 'chat')).toBe(CHATS)
  })

  test('a server killed while storing chats keeps every chat it answered for', async () => {
    for (let round = 0; round < 3; round++) {
      const cwd = tempDir()
      const server = await startBinary({ cwd })
      const store = await signedIn(server)
      let answered = 0
      let stop = false
      const writers = Array.from({ length: 4 }, async (_, w) => {
        for (let i = 0; !stop; i++) {
          const status = await store(`chat ${w}/${i}`).catch(() => 0)
          if (status === 200) answered++
        }
      })
      await Bun.sleep(300 + Math.floor(Math.random() * 700))
      await server.stop('SIGKILL')
      stop = true
      await Promise.all(writers)
      expect(answered).toBeGreaterThan(0)
      expect(countStoredRows(cwd, 'chat')).toBeGreaterThanOrEqual(answered)
      expect(countStoredRows(cwd, 'message')).toBeGreaterThanOrEqual(answered * PER_CHAT)
    }
  })
})
