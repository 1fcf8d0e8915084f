/**
 * Helper process for bench/socket-streaming.ts: the clients, in a process of their own as a browser
 * and an API client would be, so their frame parsing is not counted against Enclave. Each job
 * streams answers through Enclave's socket and reads the same answers from the Ollama stand-in
 * directly, and prints one JSON line of timings. Usage: bun bench/socket-bench-client.ts < JOB_JSON
 *
 * A socket answer counts as whole when its deltas join to exactly the text the stand-in streams
 * for the same question; Enclave may send several of Ollama's chunks in one delta when they
 * arrive together, so chunks are counted from the stand-in's side, and a chunk's arrival on the
 * socket is that of the delta that completed it.
 */
import { nowMs } from './measure.ts'

/** What to run: answers one after another (`runs` of them), or one per token all at once. */
export type ClientJobSpec = { label: string; tokens: string[] } & ({ kind: 'sequential'; runs: number } | { kind: 'concurrent' })
/** A job and where to run it; the socket runs rotate over the session tokens. */
export type ClientJob = ClientJobSpec & { wsUrl: string; ollamaUrl: string; model: string }

/**
 * One answer as a client saw it: ms from request to its first and its last piece of text, and to its
 * end (`chat:done`, once the answer is stored; Ollama's final line); what came, and when each of
 * Ollama's chunks arrived (for the socket: with the delta that completed it).
 */
export type StreamTiming = {
  firstMs: number; lastMs: number; endMs: number; arrivals: number[]; text: string; chunks: number; bytes: number; frames: number
  /** The length of each piece of text as it arrived: a delta's, or a chunk's. */
  pieceLengths: number[]
}

/** The job's result: for sequential jobs one pair per run, for concurrent jobs one pair per token. */
export type ClientResult = { socket: StreamTiming[]; direct: StreamTiming[]; socketSeconds: number; directSeconds: number }

type Frame = { type: string; content?: string }

if (import.meta.main) {
  const job = JSON.parse(await Bun.stdin.text()) as ClientJob
  console.log(JSON.stringify(await runJob(job)))
  process.exit(0)
}

async function runJob(job: ClientJob): Promise<ClientResult> {
  const clients = await Promise.all(job.tokens.map((token) => openClient(job.wsUrl, token, job.model)))
  try {
    if (job.kind === 'sequential') {
      const socket: StreamTiming[] = []
      const direct: StreamTiming[] = []
      for (let i = 0; i < job.runs; i++) {
        const question = `${job.label} question ${i}`
        socket.push(checked(await clients[i % clients.length]!.chat(question), await readDirect(job, question, direct)))
      }
      return { socket, direct, socketSeconds: Number.NaN, directSeconds: Number.NaN }
    }
    let started = nowMs()
    const socketRuns = await Promise.all(clients.map((client, i) => client.chat(`${job.label} question ${i}`)))
    const socketSeconds = (nowMs() - started) / 1000
    const direct: StreamTiming[] = []
    started = nowMs()
    await Promise.all(clients.map((_, i) => readDirect(job, `${job.label} question ${i}`, direct)))
    const directSeconds = (nowMs() - started) / 1000
    const byText = new Map(direct.map((run) => [run.text, run]))
    const socket = socketRuns.map((run) => checked(run, byText.get(run.text) ?? null))
    return { socket, direct, socketSeconds, directSeconds }
  } finally {
    for (const client of clients) client.ws.close()
  }
}

/** The socket run, once its text is the stand-in's text for the same question, with arrivals and count per chunk. */
function checked(socketRun: StreamTiming, directRun: StreamTiming | null): StreamTiming {
  if (directRun === null || socketRun.text !== directRun.text) throw new Error('a socket answer differs from the stand-in\'s')
  const arrivals: number[] = []
  let delta = 0
  let deltaEnd = socketRun.pieceLengths[0] ?? 0
  let chunkEnd = 0
  for (const length of directRun.pieceLengths) {
    chunkEnd += length
    while (deltaEnd < chunkEnd) deltaEnd += socketRun.pieceLengths[++delta]!
    arrivals.push(socketRun.arrivals[delta]!)
  }
  return { ...socketRun, arrivals, chunks: directRun.chunks }
}

type Client = { ws: WebSocket; chat(content: string): Promise<StreamTiming> }

/** Opens an authenticated socket; `chat` sends one `chat:send` and times the answer to `chat:done`. */
function openClient(url: string, token: string, model: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, ['enclave', token])
    let onFrame: ((raw: string) => void) | null = null
    ws.onmessage = (event) => onFrame?.(event.data as string)
    ws.onerror = () => reject(new Error('socket failed to open'))
    ws.onopen = () => resolve({
      ws,
      chat: (content) => new Promise((done, fail) => {
        const start = nowMs()
        const arrivals: number[] = []
        const pieces: string[] = []
        let bytes = 0
        let frames = 0
        onFrame = (raw) => {
          const at = nowMs()
          const length = Buffer.byteLength(raw)
          bytes += length + wsHeaderBytes(length)
          frames++
          const frame = JSON.parse(raw) as Frame
          if (frame.type === 'chat:delta') {
            arrivals.push(at)
            pieces.push(frame.content ?? '')
          } else if (frame.type === 'chat:done') {
            onFrame = null
            const pieceLengths = pieces.map((piece) => piece.length)
            done({
              firstMs: (arrivals[0] ?? Number.NaN) - start, lastMs: (arrivals.at(-1) ?? Number.NaN) - start, endMs: at - start,
              arrivals, text: pieces.join(''), chunks: Number.NaN, bytes, frames, pieceLengths,
            })
          } else if (frame.type !== 'chat:started') {
            onFrame = null
            fail(new Error(`socket answered ${raw.slice(0, 200)}`))
          }
        }
        ws.send(JSON.stringify({ type: 'chat:send', model, content }))
      }),
    })
  })
}

/** A server-to-client frame's header: unmasked, 2 bytes up to 125, 4 up to 65,535, else 10. */
function wsHeaderBytes(payload: number): number {
  return payload < 126 ? 2 : payload < 65_536 ? 4 : 10
}

/**
 * POSTs to the stand-in's /api/chat the body Enclave sends for a new chat with this question, and
 * reads the NDJSON as a client would: split lines, parse each. Adds the timing to `into`.
 */
async function readDirect(job: ClientJob, question: string, into: StreamTiming[]): Promise<StreamTiming> {
  const body = JSON.stringify({ model: job.model, messages: [{ role: 'user', content: question }], stream: true })
  const start = nowMs()
  const response = await fetch(`${job.ollamaUrl}/api/chat`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
  const decoder = new TextDecoder()
  const arrivals: number[] = []
  const pieces: string[] = []
  let pending = ''
  let bytes = 0
  let frames = 0
  let endMs = Number.NaN
  const reader = response.body!.getReader()
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    const piece = read.value
    bytes += piece.byteLength
    pending += decoder.decode(piece, { stream: true })
    let newline = pending.indexOf('\n')
    while (newline !== -1) {
      const line = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      newline = pending.indexOf('\n')
      const at = nowMs()
      frames++
      const chunk = JSON.parse(line) as { done: boolean; message: { content: string } }
      if (chunk.done) endMs = at - start
      else if (chunk.message.content !== '') {
        arrivals.push(at)
        pieces.push(chunk.message.content)
      }
    }
  }
  const run = {
    firstMs: (arrivals[0] ?? Number.NaN) - start, lastMs: (arrivals.at(-1) ?? Number.NaN) - start, endMs,
    arrivals, text: pieces.join(''), chunks: arrivals.length, bytes, frames,
    pieceLengths: pieces.map((piece) => piece.length),
  }
  into.push(run)
  return run
}
