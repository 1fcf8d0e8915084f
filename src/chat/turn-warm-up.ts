/**
 * Warms what a chat turn runs, just after the port opens (serve.ts), in the background: the first
 * request does not wait for it, and it is over long before a user has signed in and asked. The
 * engine compiles each function at its first calls, so the first turn after a start waited for it
 * (4-6 ms more to the first token than the turns after it). This runs the turn's own code on stand-in values: a `chat:send` frame checked, a
 * message body sealed and opened under a throwaway key, a canned Ollama answer read through the
 * client as it streams, a history bounded by a context window, and the usage worked out.
 * Threat: none added. Nothing is stored or sent anywhere (the client's fetch is a local function),
 * and the throwaway key is random and dropped at once.
 */
import { openField, sealField } from '../crypto/field-cipher.ts'
import { generateKey } from '../crypto/random.ts'
import { sealMessageBody } from '../db/message-rows.ts'
import { parseClientFrame } from './frames.ts'
import { boundHistory } from './history-bound.ts'
import { createOllamaClient, type ChatMessage } from './ollama-client.ts'
import { usageOf } from './turn-usage.ts'

const MODEL = 'warm-up'
/** Rounds of the whole path: enough for the engine's first compiling tier, few enough to cost a few ms. */
const ROUNDS = 8

const cannedAnswer = [
  ...['Warm', 'ing ', 'up.'].map((content) => ({ model: MODEL, created_at: '2026-01-01T00:00:00Z', message: { role: 'assistant', content }, done: false })),
  { model: MODEL, created_at: '2026-01-01T00:00:00Z', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', total_duration: 1, load_duration: 1, prompt_eval_count: 1, prompt_eval_duration: 1, eval_count: 3, eval_duration: 1 },
].map((chunk) => JSON.stringify(chunk)).join('\n') + '\n'

/** Runs a chat turn's code paths on stand-in values; resolves true when every round ran to its end, false when one failed (never rejects). */
export async function warmChatTurn(): Promise<boolean> {
  const key = { version: 1, key: generateKey() }
  const client = createOllamaClient({
    baseUrl: 'http://127.0.0.1:1', timeouts: { firstByteMs: 10_000, idleMs: 10_000 },
    fetch: async () => new Response(cannedAnswer, { headers: { 'content-type': 'application/x-ndjson' } }),
  })
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const frame = { type: 'chat:send', chatId: crypto.randomUUID(), parentId: '1', model: MODEL, content: 'Warming up, a question.' }
      const checked = parseClientFrame(JSON.parse(JSON.stringify(frame)))
      const rowId = `${frame.chatId}/${round}`
      const sealed = sealMessageBody(key, rowId, frame.content, round % 2 === 0 ? {} : { model: MODEL })
      openField(key, sealed, { table: 'message', column: 'content', rowId })
      openField(key, sealField(key, MODEL, { table: 'chat', column: 'title', rowId: frame.chatId }), { table: 'chat', column: 'title', rowId: frame.chatId })
      const history: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: checked.ok ? checked.frame.type : '' }]
      for await (const chunks of client.chatBatches({ model: MODEL, messages: boundHistory(history, 4096), signal: new AbortController().signal })) {
        const last = chunks.at(-1)
        if (last?.done === true) usageOf({ ...last.stats })
      }
    }
    return true
  } catch {
    // note: a warm-up that fails leaves the first turn as slow as before, nothing worse.
    return false
  } finally {
    key.key.fill(0)
  }
}
