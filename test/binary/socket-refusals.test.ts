/**
 * The chat socket refuses a credential as HTTP refuses it, against the compiled binary: for each
 * shape of refusal (an unknown API key, a deleted one, one limited to other routes, an expired
 * session, a signed-out one, a forged token, none at all), an upgrade of /api/ws gets the status and
 * body that GET /api/models gets with the same credential, whether the token comes in the
 * `enclave, <token>` subprotocol or in a header: 401 ("who are you": the credential admits no one,
 * and a client signs in again) or 403 ("you may not": a valid key not allowed here).
 * Threat: a socket answering a valid key that may not be used there with 401, which clients
 * (Open WebUI's, Conduit) take for a session to sign in again, or admitting what HTTP refuses.
 */
import { expect, test } from 'bun:test'
import { apiKeyHeader, bearer, signUp } from '../helpers/accounts.ts'
import { binaryAppStarter } from '../helpers/binary-app.ts'
import { exchange, upgrade } from '../helpers/raw-upgrade.ts'
import { req } from '../helpers/test-app.ts'

const startApp = binaryAppStarter()
const SESSION_LIFETIME_MS = 3000
// note: keys limited to /api/v1/chats, so /api/models and /api/ws are other routes to them; sessions live 3 s, so one expires here.
const binary = await startApp({
  ENABLE_API_KEYS: 'true', ENABLE_API_KEYS_ENDPOINT_RESTRICTIONS: 'true', API_KEYS_ALLOWED_ENDPOINTS: '/api/v1/chats',
  JWT_EXPIRES_IN: `${SESSION_LIFETIME_MS / 1000}s`, DEFAULT_USER_ROLE: 'user',
})
const { app } = binary
const port = Number(new URL(binary.server().url).port)

const KEYS = '/api/v1/auths/api_key'
const createKey = async (token: string): Promise<{ key: string; id: string }> => {
  const res = await app.handle(req('POST', KEYS, { name: 'ci' }, bearer(token)))
  expect(res.status).toBe(200)
  const { api_key: key, id } = (await res.json()) as { api_key: string; id: string }
  return { key, id }
}

const expiring = await signUp(app, 'ada@example.com')
const signedUpAt = Date.now()
// note: one key at a time, as Open WebUI: the deleted one first, then the one kept.
const deleted = await createKey(expiring.token)
expect((await app.handle(req('DELETE', `${KEYS}/${deleted.id}`, undefined, bearer(expiring.token)))).status).toBe(200)
const restricted = await createKey(expiring.token)
const signedOut = await signUp(app, 'bob@example.com')
expect((await app.handle(req('GET', '/api/v1/auths/signout', undefined, bearer(signedOut.token)))).status).toBe(200)
expect((await app.handle(req('GET', '/api/v1/chats/', undefined, apiKeyHeader(restricted.key)))).status).toBe(200)
// note: the session's token is past its lifetime (exp is in whole seconds) before any case runs.
await Bun.sleep(Math.max(0, signedUpAt + SESSION_LIFETIME_MS + 1100 - Date.now()))

const credentials: [what: string, credential: string, status: number, code: string][] = [
  ['an API key limited to other routes', restricted.key, 403, 'api_key_endpoint_denied'],
  ['an unknown API key', `sk-${'0'.repeat(32)}`, 401, 'not_authenticated'],
  ['a deleted API key', deleted.key, 401, 'not_authenticated'],
  ['an expired session', expiring.token, 401, 'not_authenticated'],
  ['a signed-out session', signedOut.token, 401, 'not_authenticated'],
  ['a forged token', 'eyJhbGciOiJIUzI1NiJ9.e30.x', 401, 'not_authenticated'],
]

/** The status and the parsed body of GET /api/models with these headers. */
const httpAnswer = async (headers: Record<string, string>) => {
  const res = await fetch(`${binary.server().url}/api/models`, { headers })
  return { status: res.status, body: await res.json() as Record<string, unknown> }
}
/** The status and the parsed body of an upgrade of /api/ws with these header lines. */
const socketAnswer = async (headerLines: string) => {
  const { status, body } = await exchange(port, upgrade(headerLines))
  return { status, body: JSON.parse(body) as Record<string, unknown> }
}

test.each(credentials)('%s: the socket answers as HTTP does, in the subprotocol or a header', async (_, credential, status, code) => {
  const http = await httpAnswer(bearer(credential))
  expect(http).toMatchObject({ status, body: { code } })
  expect(await socketAnswer(`Sec-WebSocket-Protocol: enclave, ${credential}\r\n`)).toEqual(http)
  expect(await socketAnswer(`Authorization: Bearer ${credential}\r\n`)).toEqual(http)
  if (credential.startsWith('sk-')) {
    expect(await httpAnswer(apiKeyHeader(credential))).toEqual(http)
    expect(await socketAnswer(`X-Api-Key: ${credential}\r\n`)).toEqual(http)
  }
})

test('no credential: 401 on both', async () => {
  const http = await httpAnswer({})
  expect(http).toMatchObject({ status: 401, body: { code: 'not_authenticated' } })
  expect(await socketAnswer('')).toEqual(http)
})

test('a live session still opens the socket (the cases above are refusals of the credential alone)', async () => {
  const fresh = await signUp(app, 'cy@example.com')
  expect((await exchange(port, upgrade(`Sec-WebSocket-Protocol: enclave, ${fresh.token}\r\n`))).status).toBe(101)
})
