/**
 * Warms what a chat turn runs, just after the port opens (serve.ts), in the background: the first
 * request does not wait for it, and it is over long before a user has signed in and asked. The
 * engine compiles each function at its first calls, so the first turn after a start waited for it
 * (4-6 ms more to the first token than the turns after it). This runs whole turns through the
 * turn's own code (frame check, chat repository, sealing, the Ollama client reading a stream, live
 * streams, the history bound) against stand-ins: a private in-memory store under a throwaway key,
 * and a local function in place of Ollama. Then the server's own store prepares the statements
 * those turns ran (`prepareOn`), which its first turn would otherwise compile while the user waits.
 * It stands aside for users' turns (turn-activity.ts): it waits while one runs, and is skipped when
 * one began before it, which has then compiled the code itself.
 * Threat: none added. Nothing reaches the network, nothing is read from or written to the server's
 * store (preparing a statement runs nothing), and the stand-in store, its keys and its one user are
 * dropped when it ends.
 */
import { openMemoryStore } from '../db/open-store.ts'
import type { SqlEngine } from '../db/engine.ts'
import type { UserId } from '../db/ids.ts'
import { silentLogger } from '../log/logger.ts'
import { startChatTurn } from './chat-turn.ts'
import { createConnections } from './connections.ts'
import { createContextWindows } from './context-window.ts'
import { parseClientFrame, type ChatSend } from './frames.ts'
import { LiveStreams } from './live-streams.ts'
import { SocketHub } from './socket-hub.ts'
import { turnOfSend } from './turn-place.ts'

const MODEL = 'warm-up:latest'
const STAND_IN_URL = 'http://127.0.0.1:1'
/** Turns run: enough for the engine's first compiling tier, few enough to cost a few ms. */
const TURNS = 8

const at = '2026-01-01T00:00:00Z'
const cannedLines = [
  ...['Warm', 'ing ', 'up.'].map((content) => ({ model: MODEL, created_at: at, message: { role: 'assistant', content }, done: false })),
  { model: MODEL, created_at: at, message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', total_duration: 1, load_duration: 1, prompt_eval_count: 1, prompt_eval_duration: 1, eval_count: 3, eval_duration: 1 },
].map((chunk) => new TextEncoder().encode(`${JSON.stringify(chunk)}\n`))
const cannedListing = JSON.stringify({ models: [{ name: MODEL, model: MODEL, modified_at: at, size: 1, digest: 'warm-up', details: { family: 'warm-up' } }] })
const cannedShow = JSON.stringify({ model_info: { 'general.architecture': 'warm-up', 'warm-up.context_length': 4096 } })

/** Ollama's answers, from memory: a model list, a model description, a chat answer streamed a line per read. */
async function standInOllama(url: string): Promise<Response> {
  if (url.endsWith('/api/tags')) return new Response(cannedListing, { headers: { 'content-type': 'application/json' } })
  if (url.endsWith('/api/show')) return new Response(cannedShow, { headers: { 'content-type': 'application/json' } })
  return new Response(answerStream(), { headers: { 'content-type': 'application/x-ndjson' } })
}

/**
 * The answer a line per read, the last line cut in two, as Ollama's stream arrives: the reader's
 * paths for a lone line, a line awaited across reads and the stream's end are the ones a real turn takes.
 */
function answerStream(): ReadableStream<Uint8Array> {
  const last = cannedLines.at(-1)!
  const pieces = [...cannedLines.slice(0, -1), last.subarray(0, 16), last.subarray(16)]
  let next = 0
  return new ReadableStream({
    pull(controller) {
      const piece = pieces[next++]
      if (piece === undefined) controller.close()
      else controller.enqueue(piece.slice())
    },
  })
}

export type WarmChatTurnOptions = {
  /** The server's store's engine, which prepares the statements the turns ran. */
  prepareOn?: Pick<SqlEngine, 'prepare'>
  /** Awaited before anything runs (TurnActivity.standAside): lets the event loop take what arrived, and waits while users' turns run. */
  standAside?: () => Promise<void>
  /** Whether users' turns already began (TurnActivity.begun): they compiled the code themselves, and the warm-up is skipped. */
  usersHaveAsked?: () => boolean
}

/**
 * Runs chat turns through a turn's code against stand-ins, then has `prepareOn` (the server's store's
 * engine) prepare the statements those turns ran; resolves true when every turn ended stored, false
 * otherwise (never rejects).
 */
export async function warmChatTurn({ prepareOn, standAside, usersHaveAsked }: WarmChatTurnOptions = {}): Promise<boolean> {
  // note: the turns below never leave the microtask queue (in-memory store, Ollama from memory), so a user's
  // turn waiting on Ollama when they began waited for all of them: 12-15 ms more to its first token in
  // `npm run bench` on an idle machine, 28-33 ms when forced. Such a turn now runs alone, and compiles the code itself.
  // Not yielding between the turns: the requests before a first turn were then answered between them, and
  // that turn met the warm-up half done (2.1 against 1.4 ms added, bench/first-turn.ts, four alternated runs).
  await standAside?.()
  if (usersHaveAsked?.() === true) return false
  const store = openMemoryStore()
  try {
    const created = await store.users.createUser({ email: 'warm-up@localhost', name: 'Warm-up', role: 'user' })
    if (!created.ok) return false
    const userId = created.user.id as UserId
    const connections = createConnections({ urls: [STAND_IN_URL], timeouts: { firstByteMs: 10_000, idleMs: 10_000 }, settings: store.settings, now: Date.now, fetch: standInOllama })
    await connections.listModels()
    const streams = new LiveStreams(Date.now, 0)
    const deps = {
      chats: store.chats, connections, streams, hub: new SocketHub(), log: silentLogger, checkpointIntervalMs: 60_000,
      titles: null, maxConcurrentAnswers: 1, contextWindows: createContextWindows(Date.now),
    }
    const before = new Set(store.sql.statementTexts())
    let chatId: string | undefined
    for (let turn = 0; turn < TURNS; turn++) {
      const checked = parseClientFrame(JSON.parse(JSON.stringify({ type: 'chat:send', model: MODEL, content: `Warming up, question ${turn}.`, ...(chatId === undefined ? {} : { chatId }) })))
      if (!checked.ok) return false
      const started = await startChatTurn(deps, userId, turnOfSend(checked.frame as ChatSend))
      if (!started.ok) return false
      await started.done
      chatId = started.stream.chatId
      if ((await store.chats.listPathTo(userId, started.stream.chatId))?.at(-1)?.role !== 'assistant') return false
    }
    // note: the server's first turn prepared these itself before: 0.3-0.5 ms of its first token (bench/first-turn.ts traces).
    prepareOn?.prepare(store.sql.statementTexts().filter((text) => !before.has(text)))
    return true
  } catch {
    // note: a warm-up that fails leaves the first turn as slow as before, nothing worse.
    return false
  } finally {
    store.close()
  }
}
