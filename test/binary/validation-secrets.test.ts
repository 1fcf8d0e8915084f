/**
 * A request out of shape is answered 422 naming each field and what was expected there, never the
 * value sent: a password sent as a list, an authenticator code as a number, a key in the wrong place.
 * Run against the source (in process) and the compiled binary; the binary's log is read too. Once,
 * `{"password":["…"]}` was answered "Expected property 'password' to be string but found: …".
 */
import { afterAll, describe, expect, test } from 'bun:test'
import { bearer, signUp } from '../helpers/accounts.ts'
import { binaryAppStarter, type BinaryApp, type RequestHandler } from '../helpers/binary-app.ts'
import { req, startTestApp } from '../helpers/test-app.ts'
import { startFakeOllama } from '../fakes/ollama.ts'

const startBinaryApp = binaryAppStarter()
const ollama = await startFakeOllama()
afterAll(() => ollama.stop())
const env = { OLLAMA_BASE_URL: ollama.url, ENABLE_API_KEYS: 'true' }

const SECRET = 'Password-bob-123-e71f'
const CODE = 918273

// [method, path, signed in, body, the field named]
const scenarios: [string, string, boolean, unknown, string][] = [
  ['POST', '/api/v1/auths/signin', false, { email: 'bob@x.io', password: [SECRET] }, '/password'],
  ['POST', '/api/v1/auths/signin', false, { email: [SECRET], password: 'x' }, '/email'],
  ['POST', '/api/v1/auths/signin', false, { email: 'bob@x.io', password: { nested: [[SECRET]] } }, '/password'],
  ['POST', '/api/v1/auths/signup', false, { name: 'Bob', email: 'bob@x.io', password: [SECRET] }, '/password'],
  ['POST', '/api/v1/auths/update/password', true, { password: [SECRET], new_password: 'New-password-456' }, '/password'],
  ['POST', '/api/v1/auths/update/password', true, { password: 'x', new_password: 'y', mfa_code: CODE }, '/mfa_code'],
  ['POST', '/api/v1/auths/api_key', true, { mfa_code: CODE }, '/mfa_code'],
  ['POST', '/api/v1/auths/api_key', true, { mfa_code: [String(CODE)] }, '/mfa_code'],
  ['POST', '/api/v1/auths/update/profile', true, { name: [SECRET] }, '/name'],
  ['POST', '/api/chat/completions', true, { model: 'llama3.2:latest', messages: [{ role: [SECRET], content: 'hi' }] }, '/messages/0/role'],
  ['GET', `/api/v1/chats/?page=${SECRET}`, true, undefined, '/page'],
]

const targets: [string, () => Promise<{ app: RequestHandler; binary: BinaryApp | null }>][] = [
  ['source', async () => ({ app: startTestApp(env).app, binary: null })],
  ['binary', async () => {
    const binary = await startBinaryApp(env)
    return { app: binary.app, binary }
  }],
]

for (const [target, start] of targets) {
  describe(`${target}: a 422 names the field and what was expected, never the value`, async () => {
    const { app, binary } = await start()
    const admin = await signUp(app, 'admin@example.com')

    test.each(scenarios)('%s %s (signed in: %p) %j', async (method, path, signedIn, body, field) => {
      const res = await app.handle(req(method, path, body, signedIn ? bearer(admin.token) : {}))
      const text = await res.text()
      expect(res.status).toBe(422)
      expect(text).not.toContain(SECRET)
      expect(text).not.toContain(String(CODE))
      const json = JSON.parse(text) as { errors?: { field: string; problem: string }[]; error?: { message: string } }
      if (path.startsWith('/api/chat/')) {
        expect(json.error!.message).toContain(field)
      } else {
        expect(json.errors!.map((item) => item.field)).toContain(field)
        for (const item of json.errors!) expect(item.problem).toStartWith('Expected')
      }
    })

    test('the log holds none of the values either', () => {
      if (binary === null) return
      const output = binary.server().output()
      expect(output).not.toContain(SECRET)
      expect(output).not.toContain(String(CODE))
      expect(output).not.toContain('ERROR')
    })
  })
}
