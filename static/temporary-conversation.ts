/**
 * A temporary chat: kept in this page's memory only, never stored on the server. Each answer is
 * asked through the stateless path of POST /api/chat/completions (Open WebUI's `local:` chat id
 * of a temporary chat, which the server never records), with the whole conversation sent each
 * time, and read as Server-Sent Events. Leaving the chat or reloading the page ends it.
 */
import { signal } from '@preact/signals'
import { ApiError, describeError } from './api.ts'
import { defaultChatSettings } from './preferences.ts'

export type TemporaryMessage = {
  role: 'user' | 'assistant'
  content: string
  model?: string
  /** Open WebUI's `usage` spelling, as describeUsage reads it. */
  usage?: Record<string, number>
  status?: 'streaming' | 'done' | 'stopped' | 'error'
  error?: string
}

export const temporaryMessages = signal<TemporaryMessage[]>([])
/** The chat id the server is told: `local:` plus a random id, as Open WebUI's page sends. */
let chatId = `local:${crypto.randomUUID()}`
let running: AbortController | null = null

/** Forgets the temporary chat (what the page shows and any answer under way). */
export function endTemporaryChat(): void {
  running?.abort()
  running = null
  chatId = `local:${crypto.randomUUID()}`
  temporaryMessages.value = []
}

/** True while an answer is arriving. */
export const isTemporaryStreaming = () => temporaryMessages.value.at(-1)?.status === 'streaming'

function updateLast(change: Partial<TemporaryMessage>): void {
  const list = temporaryMessages.value
  const last = list.at(-1)
  if (last === undefined || last.role !== 'assistant') return
  temporaryMessages.value = [...list.slice(0, -1), { ...last, ...change }]
}

/** Reads an SSE body, calling `onEvent` with each `data:` payload parsed as JSON. */
async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (event: Record<string, unknown>) => void): Promise<void> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffered = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return
    buffered += decoder.decode(value, { stream: true })
    let end: number
    while ((end = buffered.indexOf('\n\n')) >= 0) {
      const block = buffered.slice(0, end)
      buffered = buffered.slice(end + 2)
      for (const line of block.split('\n')) {
        if (!line.startsWith('data:')) continue
        const data = line.slice(5).trim()
        if (data === '[DONE]') return
        try {
          onEvent(JSON.parse(data) as Record<string, unknown>)
        } catch {
          // note: a line that is not JSON is skipped; the server sends none.
        }
      }
    }
  }
}

/** Asks `model` the question with the conversation so far; the answer streams into the last message. */
export async function sendTemporary(content: string, model: string): Promise<void> {
  if (isTemporaryStreaming()) return
  const history = temporaryMessages.value.filter((message) => message.status !== 'error')
  const settings = defaultChatSettings.value
  const messages = [
    ...(settings.system === null || settings.system === '' ? [] : [{ role: 'system', content: settings.system }]),
    ...history.map(({ role, content: text }) => ({ role, content: text })),
    { role: 'user', content },
  ]
  temporaryMessages.value = [...temporaryMessages.value, { role: 'user', content }, { role: 'assistant', content: '', model, status: 'streaming' }]
  const controller = new AbortController()
  running = controller
  const started = performance.now()
  let text = ''
  try {
    const response = await fetch('/api/chat/completions', {
      method: 'POST', credentials: 'same-origin', signal: controller.signal,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages, stream: true, stream_options: { include_usage: true }, chat_id: chatId }),
    })
    if (!response.ok || response.body === null) {
      const detail = await response.json().catch(() => null) as { detail?: unknown; error?: { message?: unknown } } | null
      const message = typeof detail?.detail === 'string' ? detail.detail : typeof detail?.error?.message === 'string' ? detail.error.message : `The server answered ${response.status}.`
      throw new ApiError(response.status, 'completion_failed', message)
    }
    await readEvents(response.body, (event) => {
      const error = event.error as { message?: unknown } | undefined
      if (error !== undefined) throw new ApiError(502, 'completion_failed', typeof error.message === 'string' ? error.message : 'The model failed to answer.')
      const delta = (event.choices as { delta?: { content?: unknown } }[] | undefined)?.[0]?.delta?.content
      if (typeof delta === 'string' && delta !== '') {
        text += delta
        updateLast({ content: text })
      }
      const usage = event.usage as { completion_tokens?: number; prompt_tokens?: number } | undefined
      if (usage !== undefined && running === controller) {
        const seconds = (performance.now() - started) / 1000
        const tokens = usage.completion_tokens ?? 0
        updateLast({ usage: { completion_tokens: tokens, prompt_tokens: usage.prompt_tokens ?? 0, 'response_token/s': seconds > 0 ? tokens / seconds : 0, total_duration: seconds * 1e9 } })
      }
    })
    if (running === controller) updateLast({ status: 'done' })
  } catch (error) {
    if (running !== controller) return
    if (controller.signal.aborted) updateLast({ status: 'stopped' })
    else updateLast({ status: 'error', error: describeError(error) })
  } finally {
    if (running === controller) running = null
  }
}

/** Stops the answer under way; what arrived is kept (in this page). */
export function stopTemporary(): void {
  running?.abort()
}
