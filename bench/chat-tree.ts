/**
 * Message trees: appending an answer to a chat of 1,000 messages must cost what it costs in an
 * empty chat (one insert, no whole-chat rewrite); opening a 1,000-message tree with branches and
 * its current path, as GET /api/v1/chats/:id does; and a client's save of a whole 200-message chat
 * in which one message changed, read from Open WebUI's JSON and applied, which must rewrite one row.
 * Run alone with `bun bench/chat-tree.ts`.
 */
import { readOpenWebUiChat } from '../src/db/open-webui-chat.ts'
import { describeChatObject } from '../src/db/open-webui-chat-description.ts'
import type { ChatId } from '../src/db/ids.ts'
import { openBenchStore, type BenchStore } from './bench-store.ts'
import { median, medianMsAsync, nowMs } from './measure.ts'
import { formatNumber, formatRatio, formatTable, type BenchRow } from './report.ts'
import { sampleText } from './sample-text.ts'

const APPENDS = 600
const TREE_MESSAGES = 1_000
const SAVE_MESSAGES = 200
const RUNS = { warmups: 5, repetitions: 30 }

export type ChatTreeFigures = {
  appendEmptyUs: number
  appendLongUs: number
  readTreeMs: number
  saveOneChangeMs: number
  rowsWrittenBySave: number
}

/** Times one call, in microseconds. */
const timeUs = async (run: () => Promise<unknown>) => {
  const before = nowMs()
  await run()
  return (nowMs() - before) * 1000
}

/** Appends alternately to fresh empty chats and to one chat already 1,000 messages long; medians of each. */
async function measureAppends({ store, owner }: BenchStore): Promise<{ emptyUs: number; longUs: number }> {
  const long = await store.chats.createChat(owner, 'a long chat')
  for (let i = 0; i < TREE_MESSAGES; i++) await store.chats.addMessage(owner, long.id, { role: i % 2 === 0 ? 'user' : 'assistant', content: sampleText(512, i) })
  const empties: ChatId[] = []
  for (let i = 0; i < APPENDS; i++) empties.push((await store.chats.createChat(owner, `empty ${i}`)).id)
  const empty: number[] = []
  const longer: number[] = []
  for (let i = 0; i < APPENDS; i++) {
    const content = sampleText(512, 10_000 + i)
    empty.push(await timeUs(async () => await store.chats.addMessage(owner, empties[i]!, { role: 'user', content })))
    longer.push(await timeUs(async () => await store.chats.addMessage(owner, long.id, { role: 'user', content })))
  }
  return { emptyUs: median(empty), longUs: median(longer) }
}

/** A 1,000-message tree: turns of a question and an answer, every fourth answer regenerated twice. */
async function measureTreeRead({ store, owner }: BenchStore): Promise<number> {
  const chat = await store.chats.createChat(owner, 'a branching chat')
  let written = 0
  for (let turn = 0; written < TREE_MESSAGES; turn++) {
    const question = (await store.chats.addMessage(owner, chat.id, { role: 'user', content: sampleText(512, 20_000 + turn) }))!
    written++
    const siblings = turn % 4 === 0 ? 3 : 1
    for (let s = 0; s < siblings && written < TREE_MESSAGES; s++, written++) {
      await store.chats.addMessage(owner, chat.id, { role: 'assistant', content: sampleText(512, 30_000 + written), parentId: question.id, status: 'done', model: 'llama3.2' })
    }
  }
  let described = describeChatObject((await store.chats.readChatTree(owner, chat.id))!)
  const ms = await medianMsAsync(async () => {
    described = describeChatObject((await store.chats.readChatTree(owner, chat.id))!)
  }, RUNS)
  if (Object.keys(described.history.messages).length !== TREE_MESSAGES) throw new Error('the tree read back is not the one written')
  return ms
}

/** An Open WebUI page's save body of a linear 200-message chat. */
function pageBody(contents: string[]) {
  const ids = contents.map(() => crypto.randomUUID())
  const messages = Object.fromEntries(contents.map((content, i) => [ids[i]!, {
    id: ids[i], parentId: i === 0 ? null : ids[i - 1], childrenIds: i + 1 < ids.length ? [ids[i + 1]] : [], role: i % 2 === 0 ? 'user' : 'assistant',
    content, timestamp: 1_750_000_000 + i, ...(i % 2 === 0 ? { models: ['llama3.2'] } : { model: 'llama3.2', modelName: 'Llama 3.2', modelIdx: 0, done: true, usage: { total_duration: i } }),
  }]))
  return { models: ['llama3.2'], params: { temperature: 0.7 }, history: { messages, currentId: ids.at(-1) }, messages: [], files: [] }
}

/** Saves the whole chat object again and again, one message's content changed each time. */
async function measureSave({ store, owner }: BenchStore): Promise<{ ms: number; rowsWritten: number }> {
  const body = pageBody(Array.from({ length: SAVE_MESSAGES }, (_, i) => sampleText(512, 40_000 + i)))
  const chat = await store.chats.createChat(owner, 'saved whole')
  const save = async (chatId: ChatId) => {
    const read = readOpenWebUiChat(body)
    if (!read.ok) throw new Error(read.detail)
    const saved = await store.chats.saveChatForUser(owner, chatId, read.content)
    if (!saved.ok) throw new Error(saved.reason)
    return saved.counts
  }
  await save(chat.id)
  const target = Object.values(body.history.messages)[SAVE_MESSAGES / 2]! as { content: string }
  let round = 0
  const change = () => void (target.content = `edited ${round++}`)
  change()
  const counts = await save(chat.id)
  const ms = await medianMsAsync(async () => {
    change()
    await save(chat.id)
  }, RUNS)
  return { ms, rowsWritten: counts.inserted + counts.rewritten + counts.removed }
}

export async function measureChatTree(bench: BenchStore): Promise<ChatTreeFigures> {
  const appends = await measureAppends(bench)
  const save = await measureSave(bench)
  return { appendEmptyUs: appends.emptyUs, appendLongUs: appends.longUs, readTreeMs: await measureTreeRead(bench), saveOneChangeMs: save.ms, rowsWrittenBySave: save.rowsWritten }
}

/** Returns the append ratio against ≤1.2x, the tree read against ≤10 ms and the one-change save against ≤5 ms and one row. */
export function chatTreeRows(figures: ChatTreeFigures): BenchRow[] {
  const ratio = figures.appendLongUs / figures.appendEmptyUs
  return [
    {
      name: `layer: append, ${formatNumber(TREE_MESSAGES)}-message chat vs empty`,
      figures: [`empty ${formatNumber(figures.appendEmptyUs, 1)} µs`, `long ${formatNumber(figures.appendLongUs, 1)} µs`],
      measured: ratio, measuredText: formatRatio(ratio), target: { kind: 'atMost', limit: 1.2, label: '≤1.2x' },
    },
    {
      name: `layer: open ${formatNumber(TREE_MESSAGES)}-message tree + path, held`,
      figures: [`${formatNumber(figures.readTreeMs, 2)} ms median`],
      measured: figures.readTreeMs, measuredText: `${formatNumber(figures.readTreeMs, 2)} ms`, target: { kind: 'atMost', limit: 10, label: '≤10 ms' },
    },
    {
      name: `layer: save ${SAVE_MESSAGES}-message chat, one changed, held`,
      figures: [`${formatNumber(figures.saveOneChangeMs, 2)} ms median`, `${figures.rowsWrittenBySave} message row(s) written`],
      measured: figures.saveOneChangeMs, measuredText: `${formatNumber(figures.saveOneChangeMs, 2)} ms`, target: { kind: 'atMost', limit: 5, label: '≤5 ms' },
    },
    {
      name: 'layer: message rows written by that save',
      figures: [`${figures.rowsWrittenBySave}`],
      measured: figures.rowsWrittenBySave, measuredText: `${figures.rowsWrittenBySave}`, target: { kind: 'atMost', limit: 1, label: '1 row' },
    },
  ]
}

if (import.meta.main) {
  const bench = await openBenchStore()
  try {
    console.log(formatTable(chatTreeRows(await measureChatTree(bench))))
  } finally {
    bench.remove()
  }
}
