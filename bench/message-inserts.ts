/**
 * Inserts: 10,000 encrypted 1 KB messages appended to one chat through chats.addMessage, each in
 * its own transaction as the server does. The cost of an insert must not grow with the chat, so
 * the first and last thousand are compared. Each insert is timed alone: flatness is judged on the
 * median, which the odd WAL checkpoint (an fsync every few hundred commits) cannot move.
 */
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
  first: BlockCost
  last: BlockCost
  /** UTF-8 bytes of every message content written, warm-up included. */
  plaintextBytes: number
}

/** Appends the messages to a new chat of the bench user and times them, after a warm-up in another chat. */
export function measureMessageInserts({ store, owner }: BenchStore): InsertFigures {
  const texts = Array.from({ length: MESSAGES }, (_, i) => sampleText(TEXT_BYTES, 1_000 + i))
  const warmupChat = store.chats.createChat(owner, 'insert warm-up')
  for (let i = 0; i < WARMUP_MESSAGES; i++) store.chats.addMessage(owner, warmupChat.id, { role: 'user', content: texts[i]! })

  const chat = store.chats.createChat(owner, 'ten thousand messages')
  const insertUs = new Float64Array(MESSAGES)
  const start = nowMs()
  for (let i = 0; i < MESSAGES; i++) {
    const before = nowMs()
    const added = store.chats.addMessage(owner, chat.id, { role: i % 2 === 0 ? 'user' : 'assistant', content: texts[i]! })
    insertUs[i] = (nowMs() - before) * 1000
    if (added === null) throw new Error('addMessage refused the chat')
  }
  const totalMs = nowMs() - start

  const bytesOf = (list: string[]) => list.reduce((sum, text) => sum + utf8Bytes(text), 0)
  return {
    messagesPerSecond: MESSAGES / (totalMs / 1000),
    first: blockCost(insertUs.subarray(0, BLOCK)),
    last: blockCost(insertUs.subarray(MESSAGES - BLOCK)),
    plaintextBytes: bytesOf(texts) + bytesOf(texts.slice(0, WARMUP_MESSAGES)),
  }
}

function blockCost(times: Float64Array): BlockCost {
  const values = Array.from(times)
  return { meanUs: values.reduce((sum, us) => sum + us, 0) / values.length, medianUs: median(values) }
}

/** Returns the insert rate against ≥20,000/s and the last/first median insert cost against ≤1.3x. */
export function messageInsertRows({ messagesPerSecond, first, last }: InsertFigures): BenchRow[] {
  const growth = last.medianUs / first.medianUs
  const cost = ({ medianUs, meanUs }: BlockCost) => `${formatNumber(medianUs, 1)} µs (mean ${formatNumber(meanUs, 1)})`
  return [
    {
      name: `layer: inserts ${formatNumber(MESSAGES)} × 1 KB, one chat`,
      figures: [`${formatNumber(messagesPerSecond)} msg/s`, `${formatNumber(1e6 / messagesPerSecond, 1)} µs/insert`],
      measured: messagesPerSecond,
      measuredText: `${formatNumber(messagesPerSecond)} msg/s`,
      target: { kind: 'atLeast', limit: 20_000, label: '≥20,000 msg/s' },
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
