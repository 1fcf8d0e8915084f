/**
 * Inserts: 10,000 encrypted 1 KB messages appended to one chat through chats.addMessage, each in
 * its own transaction as the server does. The cost of an insert must not grow with the chat, so
 * the first and last thousand are compared. Each insert is timed alone: flatness is judged on the
 * median, which the odd WAL checkpoint (an fsync every few hundred commits) cannot move.
 */
import { closeSync, openSync } from 'node:fs'
import { join } from 'node:path'
import type { Database } from 'bun:sqlite'
import { DATABASE_FILE } from '../src/db/open-store.ts'
import { openDatabase } from '../src/db/open-database.ts'
import { walFramesPending, walIndexBuffer } from '../src/db/wal-index.ts'
import { emptyWal } from './empty-wal.ts'
import type { ChatId, UserId } from '../src/db/ids.ts'
import type { BenchStore } from './bench-store.ts'
import { median, nowMs } from './measure.ts'
import { formatNumber, formatRatio, type BenchRow } from './report.ts'
import { sampleText, utf8Bytes } from './sample-text.ts'

const MESSAGES = 10_000
const BLOCK = 1_000
const WARMUP_MESSAGES = 500
const TEXT_BYTES = 1024

/** Per-insert cost of a block of consecutive inserts, in microseconds. */
export type BlockCost = { meanUs: number; medianUs: number }

export type InsertFigures = {
  messagesPerSecond: number
  /** One-row transactions per second into a bare table of the same settings, in the same directory and run, interleaved with the repository's. */
  rawRowsPerSecond: number
  /** The repository's rate over the raw rate, measured in alternating blocks. */
  rawRatio: number
  /** Appends per second through chats.addMessage, 16 chats of 4 users appended to concurrently (one in flight per chat). */
  concurrentPerSecond: number
  /** One-row transactions per second in the blocks alternating with those. */
  concurrentRawPerSecond: number
  /** The concurrent appends' rate over the raw rate, block by block. */
  concurrentRatio: number
  /** The same ratio in process CPU time (the raw rows' CPU per row over the appends'), which the machine's other load moves less. */
  concurrentCpuRatio: number
  first: BlockCost
  last: BlockCost
  /** WAL frames (pages written) an append into the one chat, and a raw one-row transaction's, each over FRAME_APPENDS from an emptied WAL. */
  walFramesPerAppend: number
  walFramesPerRawRow: number
  /** UTF-8 bytes of every message content written, warm-up included. */
  plaintextBytes: number
}

/**
 * The repository's insert rate against the floor: a one-row transaction (BEGIN IMMEDIATE, one
 * INSERT of a sealed-size blob, COMMIT) into a bare table in its own database file beside the
 * store's, with the same settings, blocks of each alternating. What the statements of an append
 * alone cost against the same raw row (no sealing, digest or engine): bench/append-sql-floor.ts.
 */
async function measureAgainstRaw({ store, owner, dataDir }: BenchStore, texts: readonly string[]): Promise<{ rawRowsPerSecond: number; rawRatio: number }> {
  const raw = openDatabase(join(dataDir, 'raw-baseline.db'))
  try {
    raw.run('CREATE TABLE row (id INTEGER PRIMARY KEY, chat INTEGER NOT NULL, content BLOB NOT NULL) STRICT')
    const insert = raw.query<void, [number, Uint8Array]>('INSERT INTO row (chat, content) VALUES (?, ?)')
    const blob = crypto.getRandomValues(new Uint8Array(TEXT_BYTES + 33))
    const chat = await store.chats.createChat(owner, 'against raw')
    const rawRates: number[] = []
    const repoRates: number[] = []
    for (let block = 0; block < RAW_BLOCKS; block++) {
      let start = nowMs()
      for (let i = 0; i < RAW_BLOCK_ROWS; i++) raw.transaction(() => insert.run(1, blob)).immediate()
      rawRates.push(RAW_BLOCK_ROWS / ((nowMs() - start) / 1000))
      start = nowMs()
      for (let i = 0; i < RAW_BLOCK_ROWS; i++) await store.chats.addMessage(owner, chat.id, { role: 'user', content: texts[i]! })
      repoRates.push(RAW_BLOCK_ROWS / ((nowMs() - start) / 1000))
    }
    return { rawRowsPerSecond: median(rawRates), rawRatio: median(repoRates.map((rate, block) => rate / rawRates[block]!)) }
  } finally {
    raw.close()
  }
}

const RAW_BLOCKS = 7
const RAW_BLOCK_ROWS = 500
const LOAD_USERS = 4
const LOAD_CHATS_PER_USER = 4
const LOAD_CHATS = LOAD_USERS * LOAD_CHATS_PER_USER

/**
 * Chat appends under load: 16 chats of 4 users, each with one append in flight at a time (as 16
 * answers being stored at once), through chats.addMessage, against the raw one-row transaction
 * (the floor a write per row pays), blocks of each alternating in the same run.
 */
async function measureConcurrentAppends({ store, dataDir }: BenchStore, texts: readonly string[]): Promise<{ perSecond: number; rawPerSecond: number; ratio: number; cpuRatio: number }> {
  const raw = openDatabase(join(dataDir, 'raw-concurrent.db'))
  try {
    raw.run('CREATE TABLE row (id INTEGER PRIMARY KEY, chat INTEGER NOT NULL, content BLOB NOT NULL) STRICT')
    const insert = raw.query<void, [number, Uint8Array]>('INSERT INTO row (chat, content) VALUES (?, ?)')
    const blob = crypto.getRandomValues(new Uint8Array(TEXT_BYTES + 33))
    const chats: { owner: UserId; chatId: ChatId }[] = []
    for (let u = 0; u < LOAD_USERS; u++) {
      const created = await store.users.createUser({ email: `load${u}@example.com`, name: `Load ${u}`, role: 'user' })
      if (!created.ok) throw new Error(`could not create a load user: ${created.reason}`)
      for (let c = 0; c < LOAD_CHATS_PER_USER; c++) chats.push({ owner: created.user.id, chatId: (await store.chats.createChat(created.user.id, `load ${c}`)).id })
    }
    const rawRates: number[] = []
    const loadRates: number[] = []
    const cpuRatios: number[] = []
    const rounds = Math.floor(RAW_BLOCK_ROWS / LOAD_CHATS)
    const cpuMs = () => {
      const used = process.cpuUsage()
      return (used.user + used.system) / 1000
    }
    for (let block = 0; block < RAW_BLOCKS + 1; block++) {
      let start = nowMs()
      let cpuStart = cpuMs()
      for (let i = 0; i < RAW_BLOCK_ROWS; i++) raw.transaction(() => insert.run(1, blob)).immediate()
      const rawRate = RAW_BLOCK_ROWS / ((nowMs() - start) / 1000)
      const rawCpuPerRow = (cpuMs() - cpuStart) / RAW_BLOCK_ROWS
      start = nowMs()
      cpuStart = cpuMs()
      await Promise.all(chats.map(async ({ owner, chatId }, c) => {
        for (let i = 0; i < rounds; i++) {
          if ((await store.chats.addMessage(owner, chatId, { role: 'user', content: texts[(c * rounds + i) % texts.length]! })) === null) throw new Error('addMessage refused a chat')
        }
      }))
      const loadRate = (rounds * chats.length) / ((nowMs() - start) / 1000)
      const loadCpuPerAppend = (cpuMs() - cpuStart) / (rounds * chats.length)
      if (block === 0) continue // note: the first block warms up
      rawRates.push(rawRate)
      loadRates.push(loadRate)
      cpuRatios.push(rawCpuPerRow / loadCpuPerAppend)
    }
    return { perSecond: median(loadRates), rawPerSecond: median(rawRates), ratio: median(loadRates.map((rate, block) => rate / rawRates[block]!)), cpuRatio: median(cpuRatios) }
  } finally {
    raw.close()
  }
}

const FRAME_APPENDS = 100

/**
 * WAL frames a commit writes, averaged over `commits` run by `write` after the WAL is emptied
 * (emptyWal: unchecked, a TRUNCATE that met the checkpoint worker left the WAL of the 10,000 appends
 * before, and the row read 61.56 pages an insert instead of 4.36):
 * the wal-index's last committed frame (`mxFrame`), which counts frames whatever the file's size
 * (SQLite reuses a WAL file from its start rather than shrinking it).
 */
async function walFramesPer(db: Database, databasePath: string, commits: number, write: () => void | Promise<void>): Promise<number> {
  await emptyWal(db)
  await write()
  const shm = openSync(`${databasePath}-shm`, 'r')
  try {
    const header = walFramesPending(shm, walIndexBuffer())
    if (header === null) throw new Error('the wal-index header could not be read')
    return header.frames / commits
  } finally {
    closeSync(shm)
  }
}

/**
 * What an append writes, which the machine's load does not move: pages into the WAL (each a full
 * 8 KB frame) an append into the one chat, and a raw one-row transaction's in its own file.
 */
async function measureWalFrames({ store, owner, dataDir }: BenchStore, chatId: ChatId, texts: readonly string[]): Promise<{ walFramesPerAppend: number; walFramesPerRawRow: number }> {
  const walFramesPerAppend = await walFramesPer(store.db, join(dataDir, DATABASE_FILE), FRAME_APPENDS, async () => {
    for (let i = 0; i < FRAME_APPENDS; i++) await store.chats.addMessage(owner, chatId, { role: 'user', content: texts[i]! })
  })
  const raw = openDatabase(join(dataDir, 'raw-frames.db'))
  try {
    raw.run('CREATE TABLE row (id INTEGER PRIMARY KEY, chat INTEGER NOT NULL, content BLOB NOT NULL) STRICT')
    const insert = raw.query<void, [number, Uint8Array]>('INSERT INTO row (chat, content) VALUES (?, ?)')
    const blob = crypto.getRandomValues(new Uint8Array(TEXT_BYTES + 33))
    for (let i = 0; i < FRAME_APPENDS; i++) raw.transaction(() => insert.run(1, blob)).immediate()
    const walFramesPerRawRow = await walFramesPer(raw, join(dataDir, 'raw-frames.db'), FRAME_APPENDS, () => {
      for (let i = 0; i < FRAME_APPENDS; i++) raw.transaction(() => insert.run(1, blob)).immediate()
    })
    return { walFramesPerAppend, walFramesPerRawRow }
  } finally {
    raw.close()
  }
}

/** Appends the messages to a new chat of the bench user and times them, after a warm-up in another chat. */
export async function measureMessageInserts(bench: BenchStore): Promise<InsertFigures> {
  const { store, owner } = bench
  const texts = Array.from({ length: MESSAGES }, (_, i) => sampleText(TEXT_BYTES, 1_000 + i))
  const warmupChat = await store.chats.createChat(owner, 'insert warm-up')
  for (let i = 0; i < WARMUP_MESSAGES; i++) await store.chats.addMessage(owner, warmupChat.id, { role: 'user', content: texts[i]! })

  const chat = await store.chats.createChat(owner, 'ten thousand messages')
  const insertUs = new Float64Array(MESSAGES)
  const start = nowMs()
  for (let i = 0; i < MESSAGES; i++) {
    const before = nowMs()
    const added = await store.chats.addMessage(owner, chat.id, { role: i % 2 === 0 ? 'user' : 'assistant', content: texts[i]! })
    insertUs[i] = (nowMs() - before) * 1000
    if (added === null) throw new Error('addMessage refused the chat')
  }
  const totalMs = nowMs() - start

  const bytesOf = (list: string[]) => list.reduce((sum, text) => sum + utf8Bytes(text), 0)
  const frames = await measureWalFrames(bench, chat.id, texts)
  const againstRaw = await measureAgainstRaw(bench, texts)
  const concurrent = await measureConcurrentAppends(bench, texts)
  return {
    messagesPerSecond: MESSAGES / (totalMs / 1000),
    ...againstRaw,
    ...frames,
    concurrentPerSecond: concurrent.perSecond,
    concurrentRawPerSecond: concurrent.rawPerSecond,
    concurrentRatio: concurrent.ratio,
    concurrentCpuRatio: concurrent.cpuRatio,
    first: blockCost(insertUs.subarray(0, BLOCK)),
    last: blockCost(insertUs.subarray(MESSAGES - BLOCK)),
    plaintextBytes: bytesOf(texts) + bytesOf(texts.slice(0, WARMUP_MESSAGES)) + bytesOf(texts.slice(0, FRAME_APPENDS)) + bytesOf(texts.slice(0, RAW_BLOCKS * RAW_BLOCK_ROWS))
      + (RAW_BLOCKS + 1) * bytesOf(texts.slice(0, LOAD_CHATS * Math.floor(RAW_BLOCK_ROWS / LOAD_CHATS))),
  }
}

function blockCost(times: Float64Array): BlockCost {
  const values = Array.from(times)
  return { meanUs: values.reduce((sum, us) => sum + us, 0) / values.length, medianUs: median(values) }
}

/** Returns the insert rate against ≥20,000/s and the last/first median insert cost against ≤1.3x. */
export function messageInsertRows({ messagesPerSecond, walFramesPerAppend, walFramesPerRawRow, rawRowsPerSecond, rawRatio, concurrentPerSecond, concurrentRawPerSecond, concurrentRatio, concurrentCpuRatio, first, last }: InsertFigures): BenchRow[] {
  const growth = last.medianUs / first.medianUs
  const cost = ({ medianUs, meanUs }: BlockCost) => `${formatNumber(medianUs, 1)} µs (mean ${formatNumber(meanUs, 1)})`
  return [
    {
      name: `layer: inserts ${formatNumber(MESSAGES)} × 1 KB, one chat`,
      figures: [`${formatNumber(messagesPerSecond)} msg/s`, `${formatNumber(1e6 / messagesPerSecond, 1)} µs/insert`,
        `${formatNumber(walFramesPerAppend, 2)} WAL pages/insert (raw row ${formatNumber(walFramesPerRawRow, 2)})`],
      measured: messagesPerSecond,
      measuredText: `${formatNumber(messagesPerSecond)} msg/s`,
      target: { kind: 'atLeast', limit: 20_000, label: '≥20,000 msg/s' },
    },
    {
      name: 'layer: inserts vs a raw one-row transaction, same run',
      // note: the raw row is the baseline as it was: SQLite's default auto-checkpoint (1,000
      // frames) on its own writing connection, while the store's checkpoints run on a worker's
      // connection (src/db/wal-checkpointer.ts). Said in the row, not changed.
      figures: [`ratio ${formatRatio(rawRatio)}`, `raw ${formatNumber(rawRowsPerSecond)} rows/s (checkpoints on its writing connection, SQLite's default)`, `${RAW_BLOCKS}×${RAW_BLOCK_ROWS} alternating`],
      measured: rawRatio,
      measuredText: formatRatio(rawRatio),
      target: { kind: 'atLeast', limit: 1, label: '≥1.0x' },
    },
    {
      name: `layer: chat appends under load (${LOAD_USERS * LOAD_CHATS_PER_USER} chats of ${LOAD_USERS} users, concurrent) vs raw one-row transactions`,
      figures: [`ratio ${formatRatio(concurrentRatio)}`, `${formatNumber(concurrentPerSecond)} msg/s`, `raw ${formatNumber(concurrentRawPerSecond)} rows/s (checkpoints on its writing connection)`, `in CPU time ${formatRatio(concurrentCpuRatio)}`],
      measured: concurrentRatio,
      measuredText: formatRatio(concurrentRatio),
      target: { kind: 'atLeast', limit: 1, label: '≥1.0x' },
    },
    {
      name: `layer: insert median, first vs last ${formatNumber(BLOCK)}`,
      figures: [`first ${cost(first)}`, `last ${cost(last)}`, `ratio ${formatRatio(growth)}`],
      measured: growth,
      measuredText: formatRatio(growth),
      target: { kind: 'atMost', limit: 1.3, label: '≤1.3x' },
    },
  ]
}
