/**
 * Socket turns of a client that only uses the socket (no REST save between them), in a chat of
 * DEPTH messages (1 KB each, default 2,000) that grows by the turns' two messages: process CPU of
 * each turn (`chat:send` to `chat:done`), median, mean and 95th percentile over N turns (default
 * 400), with the Ollama stand-in in a process of its own. The mean and the tail show what a turn
 * pays now and then, such as laying the held answer bytes out again (held-chat-layout.ts).
 * `SAVE=1`: each turn under the same answer, followed by the page's save (as bench/chat-depth.ts).
 * Run: `DEPTH=2000 bun bench/socket-only-turns.ts`; alternate it with a build of the code before.
 */
import { sampleText } from './sample-text.ts'
import { startStandInProcess } from './socket-streaming.ts'
import { startSocketBenchServer } from './socket-bench-server.ts'
const MODEL = 'qwen2.5:0.5b'
const depth = Number(process.env.DEPTH ?? 2000)
const N = Number(process.env.N ?? 400)
const SAVE = process.env.SAVE === '1'
const standIn = await startStandInProcess({ chunkDelayMs: 0, chunkCount: 20 })
const { bench, app, token, socketUrl } = await startSocketBenchServer(standIn.url)
const ws = new WebSocket(socketUrl, { protocols: ['enclave', token] } as unknown as string[])
type Frame = { type: string }
let waiting: ((frame: Frame) => void) | null = null
ws.addEventListener('message', (e) => { const f = JSON.parse(String(e.data)) as Frame; if (f.type === 'chat:done' || f.type === 'chat:error' || f.type === 'error') waiting?.(f) })
await new Promise((r) => ws.addEventListener('open', r, { once: true }))
const chat = await bench.store.chats.createChat(bench.owner, 'x', Array.from({ length: depth }, (_, i) => (i % 2 === 0 ? { role: 'user' as const, content: sampleText(1024, i) } : { role: 'assistant' as const, content: sampleText(1024, i), model: MODEL })))
const path = await bench.store.chats.listCurrentPath(bench.owner, chat.id)
const leafUid = path.at(-1)!.uid
const body0 = (await (await app.handle(new Request(`http://localhost/api/v1/chats/${chat.id}`, { headers: { authorization: `Bearer ${token}` } }))).json() as { chat: { messages: { id: string; content: string }[]; history: { messages: Record<string, { content: string }> } } }).chat
let edit = 0
const cpu = () => { const { user, system } = process.cpuUsage(); return (user + system) / 1000 }
const times: number[] = []
for (let i = 0; i < N; i++) {
  const s = cpu()
  const done = new Promise<Frame>((r) => (waiting = r))
  ws.send(JSON.stringify({ type: 'chat:send', chatId: chat.id, parentId: SAVE ? leafUid : undefined, model: MODEL, content: 'one more question' }))
  const f = await done
  if (f.type !== 'chat:done') throw new Error(JSON.stringify(f))
  times.push(cpu() - s)
  if (SAVE) {
    const first = body0.messages[0]!
    first.content = body0.history.messages[first.id]!.content = `edited ${edit++}`
    const body = JSON.stringify({ chat: body0 })
    const res = await app.handle(new Request(`http://localhost/api/v1/chats/${chat.id}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }, body }))
    await res.arrayBuffer()
  }
}
const mean = times.reduce((a, b) => a + b, 0) / times.length
times.sort((a, b) => a - b)
console.log(`${SAVE ? 'with saves' : 'socket only'}, ${depth} messages at the start, ${N} turns: CPU a turn median ${times[times.length >> 1]!.toFixed(3)} ms mean ${mean.toFixed(3)} p95 ${times[Math.floor(times.length * 0.95)]!.toFixed(3)}`)
ws.close(); await app.stop(true); standIn.stop(); bench.remove()
process.exit(0)
