/**
 * Read, storage layer: a 1,000-message chat loaded and decrypted with listMessagesInChat, through a
 * repository with no history cache, so every read opens every row (a chat held in the cache costs
 * none of this; bench/chat-http-read.ts times the public path).
 */
import { createChatRepo } from '../src/db/chats.ts'
import type { BenchStore } from './bench-store.ts'
import { medianMsAsync } from './measure.ts'
import { formatNumber, type BenchRow } from './report.ts'
import { sampleText, utf8Bytes } from './sample-text.ts'

const MESSAGES = 1_000
const TEXT_BYTES = 1024
const RUNS = { warmups: 5, repetitions: 20 }

export type ReadFigures = {
  medianMs: number
  /** UTF-8 bytes of the message contents this part wrote. */
  plaintextBytes: number
}

/** Fills a new chat with 1,000 messages, then times reading it back in full. */
export async function measureChatRead({ store, owner }: BenchStore): Promise<ReadFigures> {
  const chat = await store.chats.createChat(owner, 'one thousand messages')
  const texts = Array.from({ length: MESSAGES }, (_, i) => sampleText(TEXT_BYTES, 100_000 + i))
  for (const [i, content] of texts.entries()) await store.chats.addMessage(owner, chat.id, { role: i % 2 === 0 ? 'user' : 'assistant', content })
  const uncached = createChatRepo(store.sql, store.dataKeys, Date.now, store.accountChanges, { maxBytes: 0, maxBytesPerUser: 0, idleMs: 0 })
  let messages = await uncached.listMessagesInChat(owner, chat.id)
  const ms = await medianMsAsync(async () => {
    messages = await uncached.listMessagesInChat(owner, chat.id)
  }, RUNS)
  const misread = messages.length !== MESSAGES || messages.some((message, i) => message.content !== texts[i])
  if (misread) throw new Error(`the chat read back differs from the ${MESSAGES} messages written`)
  return { medianMs: ms, plaintextBytes: texts.reduce((sum, text) => sum + utf8Bytes(text), 0) }
}

/** Returns the read time against ≤5 ms. */
export function chatReadRows({ medianMs: ms }: ReadFigures): BenchRow[] {
  return [{
    name: `layer: read ${formatNumber(MESSAGES)}-message chat, decrypting every row`,
    figures: [`${formatNumber(ms, 2)} ms median`, `${formatNumber((ms * 1000) / MESSAGES, 2)} µs/message`],
    measured: ms,
    measuredText: `${formatNumber(ms, 2)} ms`,
    target: { kind: 'atMost', limit: 5, label: '≤5 ms' },
  }]
}
