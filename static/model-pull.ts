/**
 * Pulling a model as an administrator: POST /api/v1/ollama/pull answers Ollama's progress as NDJSON
 * lines (`{status, total?, completed?}`, a last `{error}` when Ollama fails midway). Aborting the
 * signal ends the request, and the server then ends its pull from Ollama. The admin's other tabs
 * follow the same pull through the socket's `model:pull` frames (they cannot cancel it).
 */
import { signal } from '@preact/signals'
import { ApiError, api } from './api.ts'
import { loadModels } from './models.ts'
import type { ServerFrame } from './types.ts'

/** One pull as the page shows it; `percent` is null until Ollama reports a size. */
export type PullState =
  | { name: string; phase: 'running'; status: string; percent: number | null; cancel: (() => void) | null }
  | { name: string; phase: 'done' }
  | { name: string; phase: 'cancelled' }
  | { name: string; phase: 'failed'; message: string }

/** The page's pull (one at a time), shared by the admin page and the empty chat page. */
export const currentPull = signal<PullState | null>(null)
/** Names this tab pulled itself: its HTTP answer tells their progress, so their socket frames are not needed. */
const pulledHere = new Set<string>()

/** Shows a pull another tab of this admin runs, from its `model:pull` frame. */
export function followPullFrame(frame: Extract<ServerFrame, { type: 'model:pull' }>): void {
  if (pulledHere.has(frame.name) || currentPull.value?.phase === 'running' && currentPull.value.cancel !== null) return
  if (frame.status === 'error') currentPull.value = { name: frame.name, phase: 'failed', message: frame.error ?? 'Ollama reported an error.' }
  else if (frame.status === 'success') {
    currentPull.value = { name: frame.name, phase: 'done' }
    void loadModels()
  } else currentPull.value = { name: frame.name, phase: 'running', status: describeStatus(frame.status), percent: percentOf(frame), cancel: null }
}

/** Pulls `name` onto the connection at index `connection`; the models list is reloaded when it is done. */
export async function pullModel(name: string, connection = 0): Promise<void> {
  if (currentPull.value?.phase === 'running' && currentPull.value.cancel !== null) return
  pulledHere.add(name)
  const controller = new AbortController()
  const running = (status: string, percent: number | null) => {
    currentPull.value = { name, phase: 'running', status, percent, cancel: () => controller.abort() }
  }
  running('Starting…', null)
  try {
    const response = await fetch('/api/v1/ollama/pull', {
      method: 'POST', credentials: 'same-origin', signal: controller.signal,
      headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, connection }),
    })
    if (!response.ok || response.body === null) throw await refusalOf(response)
    let failure: string | null = null
    let isSuccess = false
    for await (const line of readLines(response.body)) {
      const progress = parseLine(line)
      if (progress === null) continue
      if (typeof progress.error === 'string') failure = progress.error
      else if (progress.status === 'success') isSuccess = true
      else running(describeStatus(String(progress.status ?? '')), percentOf(progress))
    }
    currentPull.value = failure !== null ? { name, phase: 'failed', message: failure }
      : isSuccess ? { name, phase: 'done' } : { name, phase: 'failed', message: 'The pull ended before Ollama reported success.' }
  } catch (error) {
    currentPull.value = controller.signal.aborted ? { name, phase: 'cancelled' }
      : { name, phase: 'failed', message: error instanceof ApiError ? error.message : 'The server could not be reached.' }
  }
  await loadModels()
}

/** Deletes a model from every connection that has it; throws ApiError when refused. */
export async function deleteModel(name: string): Promise<void> {
  await api('DELETE', `/api/v1/ollama/models/${encodeURIComponent(name)}`)
  await loadModels()
}

async function refusalOf(response: Response): Promise<ApiError> {
  const body = parseLine(await response.text()) ?? {}
  const detail = typeof body.detail === 'string' ? body.detail : `The server answered ${response.status}.`
  return new ApiError(response.status, typeof body.code === 'string' ? body.code : `http_${response.status}`, detail)
}

async function* readLines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder()
  let rest = ''
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    rest += decoder.decode(chunk, { stream: true })
    const lines = rest.split('\n')
    rest = lines.pop() ?? ''
    yield* lines
  }
  if (rest.trim() !== '') yield rest
}

function parseLine(line: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(line)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : null
  } catch {
    return null
  }
}

function percentOf(progress: Record<string, unknown>): number | null {
  const { total, completed } = progress
  if (typeof total !== 'number' || total <= 0) return null
  return Math.min(100, Math.floor(((typeof completed === 'number' ? completed : 0) / total) * 100))
}

/** Ollama's `downloading sha256:…` shortened for reading. */
function describeStatus(status: string): string {
  return status.startsWith('downloading') || status.startsWith('pulling sha256') ? 'Downloading' : status.charAt(0).toUpperCase() + status.slice(1)
}

/** Formats bytes as "1.3 GB". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) return 'unknown'
  const units = ['B', 'KB', 'MB', 'GB', 'TB']
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000
    unit++
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`
}
