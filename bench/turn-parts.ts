/**
 * What each part of a socket turn costs at 10 and at 2,000 messages (1 KB each), in process CPU, in
 * this process: the turn's place (the chat's row and the held path, turn-place.ts), the window's
 * bound and the model's form of each message sent (history-bound.ts, modelForm), the body's bytes
 * (chat-request-body.ts), the /api/chat call to the stand-in Ollama in a process of its own (the
 * body made again from the kept bytes, written, and the answer read), and the turn's two appends
 * (the question and the answer, each updating the held chat and its answer bytes). Medians over
 * 150 turns a depth; each turn is followed, untimed, by the save an Open WebUI page sends (the
 * whole chat, which removes the turn's two messages again), in the order bench/chat-depth.ts uses.
 * What it leaves out of a socket turn: the socket's frames and the turn's bookkeeping.
 * Run: `bun bench/turn-parts.ts` (prints a table: each part at 10 / 2,000 and its growth).
 */
import { createMemoryAuditLog } from '../src/audit/audit-log.ts'
import { createAuthDeps } from '../src/auth/auth-deps.ts'
import { issueSession } from '../src/auth/issue-session.ts'
import { openGate } from '../src/auth/setup-token.ts'
import { chatRequestBody } from '../src/chat/chat-request-body.ts'
import { boundHistory } from '../src/chat/history-bound.ts'
import { createOllamaClient } from '../src/chat/ollama-client.ts'
import { modelForm, placeTurn } from '../src/chat/turn-place.ts'
import { loadConfig } from '../src/config/load-config.ts'
import type { ChatId } from '../src/db/ids.ts'
import { createApp } from '../src/http/create-app.ts'
import { silentLogger } from '../src/log/logger.ts'
import { openBenchStore } from './bench-store.ts'
import { median } from './measure.ts'
import { sampleText } from './sample-text.ts'
import { startStandInProcess } from './socket-streaming.ts'

const MODEL = 'qwen2.5:0.5b'
const DEPTHS = [10, 2_000] as const
const CYCLES = { warmups: 5, measured: 75 }
/** Each depth twice, and each ordered pair of depths once as neighbours (the cycle read round). */
const CYCLE = [0, 0, 1, 1] as const
const PARTS = ['place', 'bound', 'body', 'chat call', 'appends'] as const

const cpuMs = () => {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

const standIn = await startStandInProcess({ chunkDelayMs: 0, chunkCount: 20 })
const bench = await openBenchStore()
const config = loadConfig({ env: { OLLAMA_BASE_URL: standIn.url, ENABLE_TITLE_GENERATION: 'false', BYPASS_MODEL_ACCESS_CONTROL: 'true' }, cwd: process.cwd() })
const sessionSecret = crypto.randomUUID()
const audit = createMemoryAuditLog()
const app = createApp({ config, store: bench.store, log: silentLogger, sessionSecret, audit, now: Date.now, setupGate: openGate })
const auth = createAuthDeps({ store: bench.store, auth: config.auth, sessionSecret, audit, now: Date.now, setupGate: openGate })
const token = (await issueSession(auth, (await bench.store.users.findUserById(bench.owner))!, { ip: '127.0.0.1', userAgent: 'bench' })).token
const client = createOllamaClient({ baseUrl: standIn.url, timeouts: { firstByteMs: 10_000, idleMs: 10_000 } })
// note: the window a turn is bounded by: the model's own, as the stand-in's /api/show names it (32,768 tokens: 249 of the 1 KB messages).
const window = (await client.showModel(MODEL)).contextLength
try {
  const chats: { id: ChatId; leafUid: string }[] = []
  for (const [d, depth] of DEPTHS.entries()) {
    const chat = await bench.store.chats.createChat(bench.owner, `${depth} messages`, Array.from({ length: depth }, (_, i) => (
      i % 2 === 0 ? { role: 'user' as const, content: sampleText(1024, d * 10_000 + i) } : { role: 'assistant' as const, content: sampleText(1024, d * 10_000 + i), model: MODEL })))
    const path = await bench.store.chats.listCurrentPath(bench.owner, chat.id)
    chats.push({ id: chat.id as ChatId, leafUid: path.at(-1)!.uid })
  }
  const authorization = `Bearer ${token}`
  const bodies = await Promise.all(chats.map(async ({ id }) => (await (await app.handle(new Request(`http://localhost/api/v1/chats/${id}`, { headers: { authorization } }))).json() as { chat: unknown }).chat))
  const save = async (d: number) => {
    const body = JSON.stringify({ chat: bodies[d] })
    const res = await app.handle(new Request(`http://localhost/api/v1/chats/${chats[d]!.id}`, {
      method: 'POST', headers: { authorization, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, body,
    }))
    await res.arrayBuffer()
    if (res.status !== 200) throw new Error(`save answered ${res.status}`)
  }
  const taken = DEPTHS.map(() => PARTS.map((): number[] => []))
  const bodyBytes = DEPTHS.map(() => 0)
  for (let cycle = 0; cycle < CYCLES.warmups + CYCLES.measured; cycle++) {
    for (const d of CYCLE) {
      const { id: chatId, leafUid } = chats[d]!
      const marks = [cpuMs()]
      const placed = await placeTurn(bench.store.chats, bench.owner, chatId, { chatId, model: MODEL, parentId: leafUid, ask: { content: 'one more question', images: null }, system: undefined, options: undefined })
      if (!placed.ok) throw new Error('turn not placed')
      marks.push(cpuMs())
      const sent = boundHistory(placed.messages, window).map(modelForm)
      marks.push(cpuMs())
      bodyBytes[d] = chatRequestBody(MODEL, sent, { stream: true }).length
      marks.push(cpuMs())
      let answer = ''
      for await (const chunk of client.chat({ model: MODEL, messages: sent, signal: new AbortController().signal })) answer += chunk.content
      marks.push(cpuMs())
      const question = await bench.store.chats.addMessage(bench.owner, chatId, { role: 'user', content: 'one more question', parentId: placed.parent!.id })
      await bench.store.chats.addMessage(bench.owner, chatId, { role: 'assistant', model: MODEL, content: answer, parentId: question!.id })
      marks.push(cpuMs())
      if (cycle >= CYCLES.warmups) PARTS.forEach((_, i) => taken[d]![i]!.push(marks[i + 1]! - marks[i]!))
      await save(d)
    }
  }
  const ms = (value: number) => `${value.toFixed(3)} ms`
  console.log(`| part | ${DEPTHS.join(' / ')} messages | growth |\n|---|---|---|`)
  PARTS.forEach((part, i) => {
    const [short, long] = taken.map((parts) => median(parts[i]!))
    console.log(`| ${part} | ${ms(short!)} / ${ms(long!)} | ${ms(long! - short!)} |`)
  })
  console.log(`window ${window} tokens; body ${bodyBytes.join(' / ')} bytes`)
} finally {
  standIn.stop()
  bench.remove()
}
process.exit(0)
