/**
 * A regenerate over the chat socket against a plain turn in the same chat and the same run: the
 * time from the frame to `chat:done` (the answer stored) of `chat:regenerate` over that of
 * `chat:send`, target ≤1.1x (a regenerate stores one message where a turn stores two, and reads
 * the same path). Both go at the same depth, so the model is sent as many messages: the turn under
 * the chat's last answer, the regenerate under the question that answer follows.
 *
 * Enclave (file-backed store), the Ollama stand-in (test/fakes/ollama.ts) and the client share one
 * process; the two kinds of turn alternate, in blocks, and the spread of the blocks' ratios is the
 * noise. `npm run bench` runs it as a process of its own (`bun bench/socket-regenerate.ts` prints JSON).
 */
import { startFakeOllama } from '../test/fakes/ollama.ts'
import { runBenchApart } from './run-apart.ts'
import { median, nowMs } from './measure.ts'
import { formatNumber, formatRatio, type BenchRow } from './report.ts'
import { startSocketBenchServer } from './socket-bench-server.ts'

const MODEL = 'qwen2.5:0.5b'
const CHUNKS = 200
/** Turns already in the chat: the path each measured turn sends the model. */
const DEPTH = 20
const WARMUPS = 100
const BLOCKS = 5
const PAIRS_PER_BLOCK = 100

export type SocketRegenerateFigures = { sendP50: number; regenerateP50: number; ratio: number; blockRatios: number[] }

if (import.meta.main) {
  console.log(JSON.stringify(await measureSocketRegenerate()))
  process.exit(0)
}

/** Runs this file in a fresh process and returns its figures. */
export function measureSocketRegenerateApart(): Promise<SocketRegenerateFigures> {
  return runBenchApart<SocketRegenerateFigures>(import.meta.path, 'socket regenerate')
}

type Frame = { type: string; [field: string]: unknown }

/** A socket that runs one turn at a time and says how long each took to its chat:done. */
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
    async turn(frame: object): Promise<{ ms: number; done: Frame }> {
      const started = nowMs()
      const ended = new Promise<Frame>((resolve) => (waiting = resolve))
      ws.send(JSON.stringify(frame))
      const done = await ended
      if (done.type !== 'chat:done') throw new Error(`turn refused: ${JSON.stringify(done)}`)
      return { ms: nowMs() - started, done }
    },
    close: () => ws.close(),
  }
}

/** Builds the chat, then times plain turns and regenerates in alternation. */
export async function measureSocketRegenerate(): Promise<SocketRegenerateFigures> {
  const ollama = await startFakeOllama({ behaviour: { chunkDelayMs: 0, chunkCount: CHUNKS } })
  const { bench, app, token, socketUrl } = await startSocketBenchServer(ollama.url)
  const socket = await openTurnSocket(socketUrl, token)
  try {
    const ask = (chatId: string | undefined, parentId?: string) => ({ type: 'chat:send', model: MODEL, content: 'how deep does the chat go today', ...(chatId === undefined ? {} : { chatId }), ...(parentId === undefined ? {} : { parentId }) })
    let last = (await socket.turn(ask(undefined))).done
    const chatId = String(last.chatId)
    for (let i = 1; i < DEPTH; i++) last = (await socket.turn(ask(chatId))).done
    // note: the turn goes under the last answer; the regenerate answers the question that answer follows, one level up but with as many messages sent.
    const answer = String(last.storedMessageUid)
    const question = String(last.parentId)
    const send = async () => (await socket.turn(ask(chatId, answer))).ms
    const regenerate = async () => (await socket.turn({ type: 'chat:regenerate', chatId, model: MODEL, parentId: question })).ms
    for (let i = 0; i < WARMUPS; i++) await (i % 2 === 0 ? send() : regenerate())
    const sends: number[][] = []
    const regenerates: number[][] = []
    for (let block = 0; block < BLOCKS; block++) {
      sends.push([])
      regenerates.push([])
      for (let i = 0; i < PAIRS_PER_BLOCK; i++) {
        // note: the order flips every pair, so neither kind always runs right after the other.
        if (i % 2 === 0) {
          sends[block]!.push(await send())
          regenerates[block]!.push(await regenerate())
        } else {
          regenerates[block]!.push(await regenerate())
          sends[block]!.push(await send())
        }
      }
    }
    const sendP50 = median(sends.flat())
    const regenerateP50 = median(regenerates.flat())
    return { sendP50, regenerateP50, ratio: regenerateP50 / sendP50, blockRatios: sends.map((times, block) => median(regenerates[block]!) / median(times)) }
  } finally {
    socket.close()
    await app.stop(true)
    await ollama.stop()
    bench.remove()
  }
}

/** One row: the regenerate's time over the plain turn's, against ≤1.1x. */
export function socketRegenerateRows(figures: SocketRegenerateFigures): BenchRow[] {
  const ms = (value: number) => `${formatNumber(value, 2)} ms`
  const spread = `blocks ${formatRatio(Math.min(...figures.blockRatios))}–${formatRatio(Math.max(...figures.blockRatios))}`
  return [{
    name: 'ws regenerate vs plain turn, same chat, p50',
    figures: [`regenerate ${ms(figures.regenerateP50)}`, `turn ${ms(figures.sendP50)}`, `${spread} (noise)`, `${BLOCKS}×${PAIRS_PER_BLOCK} pairs after ${WARMUPS} warm-up turns, ${CHUNKS} chunks, ${DEPTH} turns deep, to chat:done`],
    measured: figures.ratio,
    measuredText: formatRatio(figures.ratio),
    target: { kind: 'atMost', limit: 1.1, label: '≤1.1x' },
  }]
}
