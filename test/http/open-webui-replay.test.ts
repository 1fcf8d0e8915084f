/**
 * Replays every in-scope call of Open WebUI's web frontend and of Conduit (the inventory in
 * test/fixtures/open-webui-endpoints.json) against the app, in the request shape each client sends,
 * as an admin or an approved user, with real ids made here. A call answers when it gives Open WebUI's
 * status and the top-level shape and keys the client reads. Prints the coverage and the misses;
 * asserts at least 95% (the measure the compatibility work is held to).
 */
import { afterAll, describe, expect, test } from 'bun:test'
import inventory from '../fixtures/open-webui-endpoints.json'
import { bearer, PASSWORD, signIn, signUp, signUpAdminAndUser } from '../helpers/accounts.ts'
import { call } from '../helpers/organisation.ts'
import { req, startTestApp } from '../helpers/test-app.ts'
import { startFakeOllama } from '../fakes/ollama.ts'

type Shape = 'object' | 'array' | 'boolean' | 'null' | 'stream' | 'image' | 'any'
export type Endpoint = {
  method: string; path: string; clients: string[]; in_scope: boolean; reason?: string
  as?: 'admin' | 'user' | 'anon'; fresh_session?: boolean
  query?: Record<string, string>; body?: unknown
  status?: number | number[]; shape?: Shape | Shape[]; keys?: string[]
}

const endpoints = (inventory as { endpoints: Endpoint[] }).endpoints
const inScope = endpoints.filter((endpoint) => endpoint.in_scope)
const MODEL = 'qwen2.5:0.5b'

const ollama = await startFakeOllama()
afterAll(() => ollama.stop())
// note: sharing and the admin export are Open WebUI's defaults and Enclave's opt-ins; both are on here.
const { app } = startTestApp({ OLLAMA_BASE_URL: ollama.url, ENABLE_COMMUNITY_SHARING: 'true', ENABLE_ADMIN_EXPORT: 'true' })
const { ada, bob } = await signUpAdminAndUser(app)
let counter = 0

/** A user made for one call that may sign them out, change their password or delete them. */
async function throwaway() {
  const made = await signUp(app, `throwaway-${++counter}@example.com`, PASSWORD, 'Victim')
  await call(app, 'POST', `/api/v1/users/${made.id}/update`, bearer(ada.token), { role: 'user' })
  return { id: made.id, email: made.email, token: (await signIn(app, made.email)).token }
}

/** Fresh ids for one call: a chat of the acting user with one message and a tag, a folder, a share link. */
async function world(owner: string) {
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

/** Sends one client call; answers null when it matches Open WebUI, else what was wrong. */
export async function replay(endpoint: Endpoint): Promise<string | null> {
  const namesVictim = JSON.stringify(endpoint).includes('{victim_id}')
  const acting = endpoint.fresh_session || namesVictim ? await throwaway() : null
  const token = endpoint.as === 'anon' ? null : endpoint.as === 'admin' ? ada.token : (acting?.token ?? bob.token)
  const victim = namesVictim ? acting : null
  const ids = {
    ...(await world(endpoint.as === 'admin' ? ada.token : (acting?.token ?? bob.token))),
    model: MODEL, model_copy: `${MODEL}-copy-${counter}`, task_id: crypto.randomUUID(), ollama_url: ollama.url, n: String(++counter),
    user_id: bob.id, victim_id: victim?.id ?? '', user_email: 'bob@example.com', password: PASSWORD, provider: 'oidc',
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

describe('Open WebUI web frontend and Conduit calls, replayed', () => {
  test('every in-scope row names its clients and a request the test can send', () => {
    for (const endpoint of inScope) {
      expect(endpoint.clients.length).toBeGreaterThan(0)
      expect(endpoint.path.startsWith('/')).toBe(true)
    }
    for (const endpoint of endpoints.filter((row) => !row.in_scope)) expect(endpoint.reason ?? '').not.toBe('')
  })

  test('at least 95% of the in-scope calls answer as Open WebUI does', async () => {
    const misses: string[] = []
    for (const endpoint of inScope) {
      const wrong = await replay(endpoint)
      if (wrong !== null) misses.push(`${endpoint.method} ${endpoint.path} (${endpoint.clients.join('+')}): ${wrong}`)
    }
    const answered = inScope.length - misses.length
    console.log(`Open WebUI replay: ${answered} of ${inScope.length} = ${((answered / inScope.length) * 100).toFixed(1)}% answer as Open WebUI does`)
    for (const miss of misses) console.log(`  miss: ${miss}`)
    expect(answered / inScope.length).toBeGreaterThanOrEqual(0.95)
  }, 60_000)
})
