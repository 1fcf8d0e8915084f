/**
 * Chat appends under load against raw one-row transactions, for comparing two source trees in the
 * same run: the loop of the bench row (bench/message-inserts.ts: 16 chats of 4 users, one append in
 * flight on each, blocks alternating with raw one-row transactions) run on the tree given, printing
 * one JSON line: the median per-block ratio in wall time and in process CPU time, and the appends'
 * rate. Run it alternately on the code before (a scratch worktree with npm ci) and this tree:
 * `bun bench/inserts-compare.ts [tree] [blocks]`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { ChatId, UserId } from '../src/db/ids.ts'
import type { openStore as OpenStore } from '../src/db/open-store.ts'
import type { openDatabase as OpenDatabase } from '../src/db/open-database.ts'
import { median } from './measure.ts'

const root = resolve(process.argv[2] ?? join(import.meta.dir, '..'))
const BLOCKS = Number(process.argv[3] ?? 7)
const CHATS_PER_USER = 4
const USERS = 4
const BLOCK_ROWS = 496
const ROUNDS = BLOCK_ROWS / (USERS * CHATS_PER_USER)

const { openStore } = await import(`${root}/src/db/open-store.ts`) as { openStore: typeof OpenStore }
const { openDatabase } = await import(`${root}/src/db/open-database.ts`) as { openDatabase: typeof OpenDatabase }
const { sampleText } = await import(`${root}/bench/sample-text.ts`) as { sampleText: (bytes: number, seed: number) => string }

const dataDir = mkdtempSync(join(tmpdir(), 'enclave-inserts-compare-'))
const store = openStore({ dataDir, masterKey: { kind: 'generated', path: join(dataDir, 'master.key') }, now: Date.now })
const raw = openDatabase(join(dataDir, 'raw.db'))
try {
  const texts = Array.from({ length: 2000 }, (_, i) => sampleText(1024, 1000 + i))
  raw.run('CREATE TABLE row (id INTEGER PRIMARY KEY, chat INTEGER NOT NULL, content BLOB NOT NULL) STRICT')
  const insert = raw.query<void, [number, Uint8Array]>('INSERT INTO row (chat, content) VALUES (?, ?)')
  const blob = crypto.getRandomValues(new Uint8Array(1024 + 33))
  const chats: { owner: UserId; chatId: ChatId }[] = []
  for (let u = 0; u < USERS; u++) {
    const created = await store.users.createUser({ email: `load${u}@example.com`, name: `Load ${u}`, role: 'user' })
    if (!created.ok) throw new Error(`could not create a load user: ${created.reason}`)
    for (let c = 0; c < CHATS_PER_USER; c++) chats.push({ owner: created.user.id, chatId: (await store.chats.createChat(created.user.id, `load ${c}`)).id })
  }
  const cpuMs = () => {
    const used = process.cpuUsage()
    return (used.user + used.system) / 1000
  }
  const ratios: number[] = []
  const cpuRatios: number[] = []
  const rates: number[] = []
  for (let block = 0; block < BLOCKS + 1; block++) {
    let start = performance.now()
    let cpuStart = cpuMs()
    for (let i = 0; i < BLOCK_ROWS; i++) raw.transaction(() => insert.run(1, blob)).immediate()
    const rawMs = performance.now() - start
    const rawCpu = cpuMs() - cpuStart
    start = performance.now()
    cpuStart = cpuMs()
    await Promise.all(chats.map(async ({ owner, chatId }, c) => {
      for (let i = 0; i < ROUNDS; i++) {
        if ((await store.chats.addMessage(owner, chatId, { role: 'user', content: texts[(c * ROUNDS + i) % texts.length]! })) === null) throw new Error('addMessage refused a chat')
      }
    }))
    const loadMs = performance.now() - start
    const loadCpu = cpuMs() - cpuStart
    if (block === 0) continue // note: the first block warms up
    ratios.push(rawMs / loadMs)
    cpuRatios.push(rawCpu / loadCpu)
    rates.push(BLOCK_ROWS / (loadMs / 1000))
  }
  const round = (value: number) => Math.round(value * 100) / 100
  console.log(JSON.stringify({ tree: root, ratio: round(median(ratios)), cpuRatio: round(median(cpuRatios)), appendsPerSecond: Math.round(median(rates)), ratios: ratios.map(round) }))
} finally {
  raw.close()
  store.close()
  rmSync(dataDir, { recursive: true, force: true })
}
