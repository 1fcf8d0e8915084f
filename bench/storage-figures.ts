/**
 * The storage figures of `npm run bench` as JSON, one object per row (name, measured value, which
 * way is better), for bench/compare-trees.ts to set one source tree's figures beside another's:
 * inserts, the 1,000-message read, size, trees, list and search, the chat read over HTTP, the key
 * lifecycle, sealed knowledge chunks, and messages stored per second through the public API (a
 * server started from this tree's source, `POST /api/v1/chats/new`). Written to run unchanged in a
 * tree from before the repositories moved to the engine contract (there the measure calls are
 * synchronous; awaiting them is harmless). Run: `bun bench/storage-figures.ts [parts...]`.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openBenchStore } from './bench-store.ts'
import { median, nowMs } from './measure.ts'
import type { BenchRow } from './report.ts'
import { sampleText } from './sample-text.ts'

type Figure = { name: string; measured: number; better: 'lower' | 'higher' }
const figureOf = (row: BenchRow): Figure => ({ name: row.name, measured: row.measured, better: row.target.kind === 'atMost' ? 'lower' : 'higher' })

const ALL_PARTS = ['store', 'http', 'lifecycle', 'knowledge', 'api'] as const
const asked = process.argv.slice(2)
const parts = new Set(asked.length === 0 ? ALL_PARTS : asked)
const figures: Figure[] = []

if (parts.has('store')) {
  const { measureMessageInserts, messageInsertRows } = await import('./message-inserts.ts')
  const { chatReadRows, measureChatRead } = await import('./chat-read.ts')
  const { databaseSizeRows, measureDatabaseSize } = await import('./database-size.ts')
  const { chatTreeRows, measureChatTree } = await import('./chat-tree.ts')
  const { chatListSearchRows, measureChatListSearch } = await import('./chat-list-search.ts')
  const bench = await openBenchStore()
  try {
    const inserts = await measureMessageInserts(bench)
    const read = await measureChatRead(bench)
    const size = await measureDatabaseSize(bench, inserts.plaintextBytes + read.plaintextBytes)
    const tree = await measureChatTree(bench)
    const listSearch = await measureChatListSearch(bench)
    for (const row of [...messageInsertRows(inserts), ...chatReadRows(read), ...databaseSizeRows(size), ...chatTreeRows(tree), ...chatListSearchRows(listSearch)]) figures.push(figureOf(row))
  } finally {
    await bench.remove()
  }
}
if (parts.has('http')) {
  const { chatHttpReadRows, measureChatHttpRead } = await import('./chat-http-read.ts')
  figures.push(...chatHttpReadRows(await measureChatHttpRead()).map(figureOf))
}
if (parts.has('lifecycle')) {
  const { keyLifecycleRows, measureKeyLifecycle } = await import('./key-lifecycle.ts')
  figures.push(...keyLifecycleRows(await measureKeyLifecycle()).map(figureOf))
}
if (parts.has('knowledge')) {
  const { knowledgeRows, measureKnowledge } = await import('./knowledge.ts')
  figures.push(...knowledgeRows(await measureKnowledge()).map(figureOf))
}
if (parts.has('api')) figures.push(await measureStoredPerSecond())

/**
 * Messages stored per second through the public API: 60 Open WebUI chats of ten 1 KB messages each
 * saved with `POST /api/v1/chats/new`, one after another, to a server run from this tree's source.
 */
async function measureStoredPerSecond(): Promise<Figure> {
  const CHATS = 60
  const PER_CHAT = 10
  const dir = mkdtempSync(join(tmpdir(), 'enclave-bench-api-'))
  const child = Bun.spawn(['bun', join(import.meta.dir, '..', 'src', 'main.ts'), 'serve', '--port', '0'], {
    cwd: dir, stdout: 'pipe', stderr: 'pipe', stdin: 'ignore',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', DATA_DIR: join(dir, 'data'), SIGNIN_RATE_LIMIT_PER_IP: '100000/3m', BYPASS_MODEL_ACCESS_CONTROL: 'true' },
  })
  try {
    let output = ''
    const decoder = new TextDecoder()
    const collect = async (stream: ReadableStream<Uint8Array>) => {
      const reader = stream.getReader()
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) output += decoder.decode(chunk.value, { stream: true })
    }
    void collect(child.stdout)
    void collect(child.stderr)
    const deadline = Date.now() + 30_000
    while (!/listening on (http:\/\/\S+)/.test(output)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the server did not start:\n${output}`)
      await Bun.sleep(20)
    }
    const url = /listening on (http:\/\/\S+)/.exec(output)![1]!
    const post = (path: string, body: unknown, token?: string) => fetch(`${url}${path}`, {
      method: 'POST', body: JSON.stringify(body),
      headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    })
    const signup = await post('/api/v1/auths/signup', { name: 'Bench', email: 'bench@example.com', password: 'bench password, long enough' })
    if (signup.status !== 200) throw new Error(`sign-up answered ${signup.status}`)
    const { token } = (await signup.json()) as { token: string }
    const text = sampleText(1024, 1)
    const chatBody = (title: string) => {
      const ids = Array.from({ length: PER_CHAT }, (_, i) => `m${i}`)
      const messages = Object.fromEntries(ids.map((id, i) => [id, {
        id, parentId: ids[i - 1] ?? null, childrenIds: ids[i + 1] === undefined ? [] : [ids[i + 1]], role: i % 2 === 0 ? 'user' : 'assistant',
        content: `${text} ${i}`, timestamp: 1_700_000_000 + i, ...(i % 2 === 1 ? { model: 'qwen2.5:0.5b' } : {}),
      }]))
      return { chat: { title, history: { messages, currentId: ids.at(-1) }, messages: Object.values(messages) } }
    }
    const rates: number[] = []
    for (let round = 0; round < 3; round++) {
      const started = nowMs()
      for (let i = 0; i < CHATS; i++) {
        const res = await post('/api/v1/chats/new', chatBody(`chat ${round}/${i}`), token)
        if (res.status !== 200) throw new Error(`POST /api/v1/chats/new answered ${res.status}`)
        await res.arrayBuffer()
      }
      rates.push((CHATS * PER_CHAT) / ((nowMs() - started) / 1000))
    }
    return { name: `public API: messages stored per second (POST /api/v1/chats/new, ${PER_CHAT} a chat), SQLite`, measured: median(rates), better: 'higher' }
  } finally {
    child.kill('SIGTERM')
    await child.exited
    rmSync(dir, { recursive: true, force: true })
  }
}

console.log(JSON.stringify(figures))
