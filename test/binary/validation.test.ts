/**
 * Query and body validation of the chat, user, API-key and sign-in routes, run against the source
 * (in process) and the compiled binary alike: both must refuse the same requests. A minified build
 * once let every number-from-string field (t.Numeric, t.Integer) through unchecked, so
 * `GET /api/v1/chats/?page=-1` answered 200 from the binary and 422 from the source.
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { bearer, signUp } from '../helpers/accounts.ts'
import { binaryAppStarter, type RequestHandler } from '../helpers/binary-app.ts'
import { req, startTestApp } from '../helpers/test-app.ts'
import { startFakeOllama } from '../fakes/ollama.ts'

const startBinaryApp = binaryAppStarter()
const ollama = await startFakeOllama()
afterAll(() => ollama.stop())
const env = { OLLAMA_BASE_URL: ollama.url, ENABLE_API_KEYS: 'true' }

const targets: [string, () => Promise<RequestHandler>][] = [
  ['source', async () => startTestApp(env).app],
  ['binary', async () => (await startBinaryApp(env)).app],
]

const MARKER = 'validation-marker-93c1'
const longText = (length: number) => MARKER + 'x'.repeat(length)
const completion = (extra: Record<string, unknown>) => ({ model: 'llama3.2:latest', messages: [{ role: 'user', content: 'hi' }], ...extra })

// [method, path, body, status]; :id is a chat of the admin's; a string body goes as JSON, unparsed.
const scenarios: [string, string, unknown, number][] = [
  ['GET', '/api/v1/chats/?page=-1', undefined, 422],
  ['GET', '/api/v1/chats/?page=0', undefined, 422],
  ['GET', '/api/v1/chats/?page=abc', undefined, 422],
  ['GET', '/api/v1/chats/?page=1e9', undefined, 422],
  ['GET', '/api/v1/chats/?limit=101', undefined, 422],
  ['GET', '/api/v1/chats/?limit=-5', undefined, 422],
  ['GET', '/api/v1/chats/list?page=-1', undefined, 422],
  ['GET', '/api/v1/chats/archived?limit=0', undefined, 422],
  ['GET', '/api/v1/chats/pinned?page=-1', undefined, 422],
  ['GET', '/api/v1/chats/search?text=a&page=-1', undefined, 422],
  ['GET', `/api/v1/chats/search?text=${longText(600)}`, undefined, 422],
  ['GET', '/api/v1/chats/?page=2&limit=10', undefined, 200],
  ['GET', '/api/v1/chats/search?text=a&page=1', undefined, 200],
  ['GET', '/api/v1/users/?page=-1', undefined, 422],
  ['GET', '/api/v1/users/?limit=1000', undefined, 422],
  ['GET', '/api/v1/users/?page=1&limit=5', undefined, 200],
  ['DELETE', '/api/v1/ollama/models/llama3.2?connection=-1', undefined, 422],
  ['DELETE', '/api/v1/ollama/models/llama3.2?connection=0.5', undefined, 422],
  ['POST', '/api/v1/chats/new', { chat: 5 }, 422],
  ['POST', '/api/v1/chats/new', { chat: { title: longText(1000) } }, 422],
  ['POST', '/api/v1/chats/new', { chat: { messages: [{ role: 'robot', content: MARKER }] } }, 422],
  ['POST', '/api/v1/chats/new', { chat: { messages: [{ role: 'user', content: 5 }] } }, 422],
  ['POST', '/api/v1/chats/new', { title: MARKER }, 422],
  ['POST', '/api/v1/chats/new', '{"chat": ', 400],
  ['POST', '/api/v1/chats/new', { chat: { title: MARKER } }, 200],
  ['POST', '/api/v1/chats/:id', { chat: { messages: [{ role: 'user' }] } }, 422],
  ['POST', '/api/v1/chats/:id/rename', {}, 422],
  ['POST', '/api/v1/auths/api_key', { expires_in: '10' }, 422],
  ['POST', '/api/v1/auths/api_key', { expires_in: 10 }, 422],
  ['POST', '/api/v1/auths/api_key', { expires_in: '1e12' }, 422],
  ['POST', '/api/v1/auths/api_key', { name: longText(100) }, 422],
  ['POST', '/api/chat/completions', completion({ max_tokens: '0' }), 422],
  ['POST', '/api/chat/completions', completion({ max_tokens: 0 }), 422],
  ['POST', '/api/chat/completions', completion({ messages: [] }), 422],
  ['POST', '/api/v1/auths/signin', { email: 'admin@example.com' }, 422],
  ['POST', '/api/v1/auths/signin', { email: 5, password: MARKER }, 422],
  ['POST', '/api/v1/auths/signin', { email: 'admin@example.com', password: longText(5000) }, 422],
  ['POST', '/api/v1/auths/signin', MARKER, 400],
  ['POST', '/api/v1/auths/signup', { name: '', email: 'new@example.com', password: MARKER }, 422],
  ['POST', '/api/v1/auths/signup', { name: 'N', email: longText(400), password: MARKER }, 422],
  ['POST', '/api/v1/auths/add', { name: 'N', email: 'added@example.com', password: MARKER, role: 'root' }, 422],
  ['POST', '/api/v1/users/:user/update', { role: 'root' }, 422],
]

for (const [target, start] of targets) {
  describe(`${target}: requests out of shape are refused`, async () => {
    const app = await start()
    const admin = await signUp(app, 'admin@example.com')
    const created = await app.handle(req('POST', '/api/v1/chats/new', { chat: { title: 'mine' } }, bearer(admin.token)))
    const chatId = ((await created.json()) as { id: string }).id

    test.each(scenarios)(`%s %s %j → %d`, async (method, path, body, status) => {
      const url = path.replace(':id', chatId).replace(':user', admin.id)
      const json: Record<string, string> = typeof body === 'string' ? { 'content-type': 'application/json' } : {}
      const res = await app.handle(req(method, url, body, { ...bearer(admin.token), ...json }))
      const text = await res.text()
      expect(res.status).toBe(status)
      if (status >= 400) expect(text).not.toContain(MARKER)
    })
  })
}
