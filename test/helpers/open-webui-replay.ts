/**
 * Replays every in-scope call of Open WebUI's web frontend and of Conduit (the inventory in
 * test/fixtures/open-webui-endpoints.json) against an app, in the request shape each client sends,
 * as an admin or an approved user, with real ids made for each call. A call answers when it gives
 * Open WebUI's status and the top-level shape and keys the client reads. Used in process
 * (test/http/open-webui-replay.test.ts) and against the binary (test/binary/open-webui-replay.test.ts).
 */
import inventory from '../fixtures/open-webui-endpoints.json'
import { bearer, PASSWORD, signIn, signUp, type SessionBody } from './accounts.ts'
import type { RequestHandler } from './binary-app.ts'
import { call } from './organisation.ts'
import { req } from './test-app.ts'

type Shape = 'object' | 'array' | 'boolean' | 'null' | 'stream' | 'image' | 'any'
export type Endpoint = {
  method: string; path: string; clients: string[]; in_scope: boolean; reason?: string
  as?: 'admin' | 'user' | 'anon'; fresh_session?: boolean
  query?: Record<string, string>; body?: unknown
  status?: number | number[]; shape?: Shape | Shape[]; keys?: string[]
}

export const endpoints = (inventory as { endpoints: Endpoint[] }).endpoints
export const inScope = endpoints.filter((endpoint) => endpoint.in_scope)
/** The environment the replay needs: sharing and the admin export are Open WebUI's defaults and Enclave's opt-ins. */
export const REPLAY_ENV = { ENABLE_COMMUNITY_SHARING: 'true', ENABLE_ADMIN_EXPORT: 'true' }
const MODEL = 'qwen2.5:0.5b'

function fill(value: unknown, ids: Record<string, string>): unknown {
  if (typeof value === 'string') return value.replace(/\{(\w+)\}/g, (whole, name: string) => ids[name] ?? whole)
  if (Array.isArray(value)) return value.map((item) => fill(item, ids))
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, fill(item, ids)]))
  return value
}

function shapeOf(body: unknown): Shape {
  if (body === null) return 'null'
  if (Array.isArray(body)) return 'array'
  return typeof body === 'boolean' ? 'boolean' : 'object'
}

/** Replays the whole inventory on a fresh server (no account yet) whose Ollama is at `ollamaUrl`; answers the misses. */
export async function replayInventory(app: RequestHandler, ollamaUrl: string): Promise<{ answered: number; total: number; misses: string[] }> {
  const ada = await signUp(app, 'ada@example.com')
  const bob = await signUp(app, 'bob@example.com', PASSWORD, 'Bob')
  await call(app, 'POST', `/api/v1/users/${bob.id}/update`, bearer(ada.token), { role: 'user' })
  let counter = 0

  /** A user made for one call that may sign them out, change their password or delete them. */
  const throwaway = async (): Promise<SessionBody> => {
    const made = await signUp(app, `throwaway-${++counter}@example.com`, PASSWORD, 'Victim')
    await call(app, 'POST', `/api/v1/users/${made.id}/update`, bearer(ada.token), { role: 'user' })
    return signIn(app, made.email)
  }

  /** Fresh ids for one call: a chat of the acting user with one message and a tag, a folder, a share link. */
  const world = async (owner: string) => {
    const messageId = crypto.randomUUID()
    const tag = `trip-${++counter}`
    const message = { id: messageId, parentId: null, childrenIds: [], role: 'user', content: 'Plan a trip to Lisbon', timestamp: 1_750_000_000, models: [MODEL] }
    const chat = await call<{ id: string }>(app, 'POST', '/api/v1/chats/new', bearer(owner), {
      chat: { id: '', title: 'Trip to Lisbon', models: [MODEL], history: { messages: { [messageId]: message }, currentId: messageId }, messages: [message], tags: [], timestamp: 1_750_000_000_000 },
      folder_id: null,
    })
    await call(app, 'POST', `/api/v1/chats/${chat.id}/tags`, bearer(owner), { name: tag })
    const folder = await call<{ id: string }>(app, 'POST', '/api/v1/folders/', bearer(owner), { name: `Folder ${counter}` })
    const share = await call<{ id: string }>(app, 'POST', `/api/v1/chats/${chat.id}/share`, bearer(owner), undefined)
    return { chat_id: chat.id, message_id: messageId, tag, folder_id: folder.id, share_id: share.id }
  }

  /** Sends one client call; answers null when it matches Open WebUI, else what was wrong. */
  const replay = async (endpoint: Endpoint): Promise<string | null> => {
    const namesVictim = JSON.stringify(endpoint).includes('{victim_id}')
    const acting = endpoint.fresh_session || namesVictim ? await throwaway() : null
    const token = endpoint.as === 'anon' ? null : endpoint.as === 'admin' ? ada.token : (acting?.token ?? bob.token)
    const ids = {
      ...(await world(endpoint.as === 'admin' ? ada.token : (acting?.token ?? bob.token))),
      model: MODEL, model_copy: `${MODEL}-copy-${counter}`, task_id: crypto.randomUUID(), ollama_url: ollamaUrl, n: String(++counter),
      user_id: bob.id, victim_id: namesVictim ? acting!.id : '', user_email: 'bob@example.com', password: PASSWORD, provider: 'oidc',
    }
    const path = fill(endpoint.path, ids) as string
    const query = endpoint.query ? `?${new URLSearchParams(fill(endpoint.query, ids) as Record<string, string>)}` : ''
    const body = endpoint.body === undefined ? undefined : fill(endpoint.body, ids)
    const res = await app.handle(req(endpoint.method, path + query, body, token === null ? {} : bearer(token)))
    const wanted = [endpoint.status ?? 200].flat()
    if (!wanted.includes(res.status)) return `answered ${res.status}, Open WebUI ${wanted.join('/')}: ${(await res.text()).slice(0, 120)}`
    const shapes = [endpoint.shape ?? 'object'].flat()
    if (shapes.includes('image')) return (res.headers.get('content-type') ?? '').startsWith('image/') ? null : `not an image: ${res.headers.get('content-type')}`
    const text = await res.text()
    if (shapes.includes('stream')) return text.length > 0 ? null : 'empty body'
    if (shapes.includes('any')) return null
    let parsed: unknown
    try { parsed = JSON.parse(text) } catch { return `not JSON: ${text.slice(0, 80)}` }
    if (!shapes.includes(shapeOf(parsed))) return `a${shapeOf(parsed) === 'array' ? 'n' : ''} ${shapeOf(parsed)}, Open WebUI answers ${shapes.join(' or ')}`
    const missing = (endpoint.keys ?? []).filter((key) => shapeOf(parsed) === 'object' && !(key in (parsed as object)))
    return missing.length === 0 ? null : `lacks ${missing.join(', ')}`
  }

  const misses: string[] = []
  for (const endpoint of inScope) {
    const wrong = await replay(endpoint)
    if (wrong !== null) misses.push(`${endpoint.method} ${endpoint.path} (${endpoint.clients.join('+')}): ${wrong}`)
  }
  return { answered: inScope.length - misses.length, total: inScope.length, misses }
}

/** Prints the coverage line and the misses; answers the share that answered. */
export function reportCoverage(where: string, result: { answered: number; total: number; misses: string[] }): number {
  console.log(`Open WebUI replay (${where}): ${result.answered} of ${result.total} = ${((result.answered / result.total) * 100).toFixed(1)}% answer as Open WebUI does`)
  for (const miss of result.misses) console.log(`  miss: ${miss}`)
  return result.answered / result.total
}
