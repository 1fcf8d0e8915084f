/**
 * What a message costs at any chat length, on the two public paths clients use, at 10, 1,000 and
 * 2,000 messages (1 KB each), as server CPU (process.cpuUsage of the Enclave process: the server,
 * and the client's small share of framing):
 * - a socket turn (`chat:send` to `chat:done`), with the Ollama stand-in in a process of its own so
 *   its work is not counted; each turn goes under the same answer, so every turn's path is as long;
 *   target: the CPU at 2,000 messages at most 1.5x the CPU at 10;
 * - a REST save (`POST /api/v1/chats/{id}` with the whole conversation, history and path, one
 *   message changed, as Open WebUI's page sends it), in-process, the body's parsing included;
 *   target: at most 5 ms at 2,000 messages; beside it, the floor under it: JSON.parse of the same
 *   body alone (4.5 MB at 2,000 messages), timed the same way just before each save.
 * The depths alternate turn by turn (each turn followed by its depth's save), so a change in the
 * machine's load falls on each alike, in an order in which every depth follows every depth (itself
 * included) equally often: the collection of one save's garbage falls on each depth's turns alike.
 * 150 turns a depth after 12 warm-ups, in 10 rounds of 15: the figures are the medians of all of
 * them, and each round's ratio of medians is reported beside them as the run's spread.
 * `npm run bench` runs it as a process of its own (`bun bench/chat-depth.ts` prints JSON).
 */
import type { ChatId } from '../src/db/ids.ts'
import { median } from './measure.ts'
import { formatNumber, formatRatio, type BenchRow } from './report.ts'
import { runBenchApart } from './run-apart.ts'
import { sampleText } from './sample-text.ts'
import { startStandInProcess } from './socket-streaming.ts'
import { startSocketBenchServer } from './socket-bench-server.ts'

const MODEL = 'qwen2.5:0.5b'
const DEPTHS = [10, 1_000, 2_000] as const
const TEXT_BYTES = 1024
// note: 40 turns a depth read 1.39x and 1.87x in two runs of the same code (10 messages: 1.80-2.01 ms); 150 in rounds of 15 (ws turn rows in docs/performance.md).
const RUNS = { warmupCycles: 4, rounds: 10, cyclesPerRound: 5 }
/**
 * One cycle of depths (indexes into DEPTHS): each depth three times, and each of the nine ordered
 * pairs of depths once as neighbours (the cycle read round). Rotating 0, 1, 2 instead put a turn at
 * 10 messages after the save of 2,000 two times in three and a turn at 2,000 after it never, so
 * the collection of the longest save's garbage fell on the shortest turns.
 */
const CYCLE = [0, 0, 1, 1, 2, 2, 0, 2, 1] as const

export type ChatDepthFigures = {
  turnCpuMs: number[]
  turnWallMs: number[]
  /** Each round's turn CPU at the longest depth over that at the shortest (medians of the round): the run's spread. */
  turnRatioRounds: number[]
  saveCpuMs: number[]
  /** JSON.parse of the same save's body alone, in the same process: the floor under a save's CPU. */
  parseCpuMs: number[]
  /** The save's body in bytes at each depth. */
  saveBodyBytes: number[]
  heldChats: number
  heldBytes: number
}

/** Runs this file in a fresh process and returns its figures. */
export function measureChatDepthApart(): Promise<ChatDepthFigures> {
  return runBenchApart<ChatDepthFigures>(import.meta.path, 'chat depth')
}

const cpuMs = () => {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

type Frame = { type: string; [field: string]: unknown }

async function openTurnSocket(url: string, token: string) {
  const ws = new WebSocket(url, { protocols: ['enclave', token] } as unknown as string[])
  let waiting: ((frame: Frame) => void) | null = null
  ws.addEventListener('message', (event) => {
    const frame = JSON.parse(String(event.data)) as Frame
    if (frame.type === 'chat:done' || frame.type === 'chat:error' || frame.type === 'error') waiting?.(frame)
  })
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true })
    ws.addEventListener('error', reject, { once: true })
  })
  return {
    /** Runs one turn; returns the process CPU it took and the time to chat:done, in ms. */
    async turn(frame: object): Promise<{ cpu: number; wall: number }> {
      const started = cpuMs()
      const startedAt = performance.now()
      const ended = new Promise<Frame>((resolve) => (waiting = resolve))
      ws.send(JSON.stringify(frame))
      const done = await ended
      if (done.type !== 'chat:done') throw new Error(`turn refused: ${JSON.stringify(done)}`)
      return { cpu: cpuMs() - started, wall: performance.now() - startedAt }
    },
    close: () => ws.close(),
  }
}

export async function measureChatDepth(): Promise<ChatDepthFigures> {
  const standIn = await startStandInProcess({ chunkDelayMs: 0, chunkCount: 20 })
  const { bench, app, token, socketUrl } = await startSocketBenchServer(standIn.url)
  const socket = await openTurnSocket(socketUrl, token)
  try {
    const chats: { id: ChatId; leafUid: string }[] = []
    for (const [d, depth] of DEPTHS.entries()) {
      const chat = await bench.store.chats.createChat(bench.owner, `${depth} messages`, Array.from({ length: depth }, (_, i) => (
        i % 2 === 0 ? { role: 'user' as const, content: sampleText(TEXT_BYTES, d * 10_000 + i) } : { role: 'assistant' as const, content: sampleText(TEXT_BYTES, d * 10_000 + i), model: MODEL })))
      const path = await bench.store.chats.listCurrentPath(bench.owner, chat.id)
      chats.push({ id: chat.id as ChatId, leafUid: path.at(-1)!.uid })
    }
    const turn = (d: number) => socket.turn({ type: 'chat:send', chatId: chats[d]!.id, parentId: chats[d]!.leafUid, model: MODEL, content: 'one more question' })

    // note: the save is what Open WebUI's page sends after a turn: the whole conversation, one message changed.
    const bodies = await Promise.all(chats.map(async ({ id }) => {
      const res = await app.handle(new Request(`http://localhost/api/v1/chats/${id}`, { headers: { authorization: `Bearer ${token}` } }))
      return (await res.json() as { chat: { messages: { id: string; content: string }[]; history: { messages: Record<string, { content: string }> } } }).chat
    }))
    let edit = 0
    const bodyBytes = DEPTHS.map(() => 0)
    const save = async (d: number) => {
      // note: as Open WebUI's page sends it: the history and the current path, both holding the edit.
      const chat = bodies[d]!
      const first = chat.messages[0]!
      first.content = chat.history.messages[first.id]!.content = `edited ${edit++}`
      const body = JSON.stringify({ chat })
      // note: with its length declared, as a browser's fetch sends a string body (a Request made here would otherwise go as a chunked body).
      const length = String(Buffer.byteLength(body))
      const parseStarted = cpuMs()
      JSON.parse(body)
      const parse = cpuMs() - parseStarted
      bodyBytes[d] = Number(length)
      const started = cpuMs()
      const res = await app.handle(new Request(`http://localhost/api/v1/chats/${chats[d]!.id}`, {
        method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': length }, body,
      }))
      await res.arrayBuffer()
      if (res.status !== 200) throw new Error(`save answered ${res.status}`)
      return { cpu: cpuMs() - started, parse }
    }
    const turns = DEPTHS.map((): number[] => [])
    const walls = DEPTHS.map((): number[] => [])
    const saves = DEPTHS.map((): number[] => [])
    const parses = DEPTHS.map((): number[] => [])
    const rounds = Array.from({ length: RUNS.rounds }, () => DEPTHS.map((): number[] => []))
    for (let cycle = 0; cycle < RUNS.warmupCycles + RUNS.rounds * RUNS.cyclesPerRound; cycle++) {
      for (const at of CYCLE) {
        const [t, s] = [await turn(at), await save(at)]
        if (cycle >= RUNS.warmupCycles) {
          rounds[Math.floor((cycle - RUNS.warmupCycles) / RUNS.cyclesPerRound)]![at]!.push(t.cpu)
          turns[at]!.push(t.cpu)
          walls[at]!.push(t.wall)
          saves[at]!.push(s.cpu)
          parses[at]!.push(s.parse)
        }
      }
    }
    const held = bench.store.chats.historyCacheSize()
    return {
      turnCpuMs: turns.map(median), turnWallMs: walls.map(median), turnRatioRounds: rounds.map((round) => median(round.at(-1)!) / median(round[0]!)), saveCpuMs: saves.map(median), parseCpuMs: parses.map(median), saveBodyBytes: bodyBytes,
      heldChats: held.chats, heldBytes: held.bytes,
    }
  } finally {
    socket.close()
    await app.stop(true)
    standIn.stop()
    bench.remove()
  }
}

/** The socket turn's CPU at each depth against ≤1.5x of the shortest, and the REST save's at 2,000 against ≤5 ms. */
export function chatDepthRows(figures: ChatDepthFigures): BenchRow[] {
  const ms = (value: number) => `${formatNumber(value, 2)} ms`
  const depths = DEPTHS.map((depth) => formatNumber(depth))
  const turnRatio = figures.turnCpuMs.at(-1)! / figures.turnCpuMs[0]!
  const spread = [Math.min(...figures.turnRatioRounds), Math.max(...figures.turnRatioRounds)].map(formatRatio).join('-')
  return [{
    name: 'public API: ws turn, server CPU at 10 / 1,000 / 2,000 messages',
    figures: [figures.turnCpuMs.map(ms).join(' / '), `to chat:done p50 ${figures.turnWallMs.map(ms).join(' / ')}`, `${depths.at(-1)} over ${depths[0]}, rounds of ${RUNS.cyclesPerRound * 3}: ${spread}`, `history cache ${figures.heldChats} chats, ${formatNumber(figures.heldBytes / 1e6, 1)} MB`],
    measured: turnRatio, measuredText: formatRatio(turnRatio), target: { kind: 'atMost', limit: 1.5, label: '≤1.5x' },
  }, {
    name: 'public API: REST save, one message changed, server CPU at 10 / 1,000 / 2,000',
    figures: [figures.saveCpuMs.map(ms).join(' / '), `floor: JSON.parse of the ${formatNumber(figures.saveBodyBytes.at(-1)! / 1e6, 1)} MB body alone ${figures.parseCpuMs.map(ms).join(' / ')}`],
    measured: figures.saveCpuMs.at(-1)!, measuredText: ms(figures.saveCpuMs.at(-1)!), target: { kind: 'atMost', limit: 5, label: '≤5 ms at 2,000' },
  }]
}

if (import.meta.main) {
  console.log(JSON.stringify(await measureChatDepth()))
  process.exit(0)
}
