/**
 * Group changes from the directory reach model access: a sign-in through OpenID syncs the groups
 * claim, and the user's sessions (the one just made and an older one) get exactly what the groups
 * are granted from the next request on.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts'
import { startSsoApp, type SsoApp } from '../helpers/sso-app.ts'
import { signIn, type CookieJar } from '../helpers/sso-browser.ts'

let op: TestOidcProvider
let ollama: FakeOllama
let app: SsoApp
beforeAll(async () => {
  op = await startOidcProvider()
  ollama = await startFakeOllama()
  app = await startSsoApp(op, {
    ENABLE_OAUTH_SIGNUP: 'true', ENABLE_OAUTH_GROUP_MANAGEMENT: 'true', ENABLE_OAUTH_GROUP_CREATION: 'true',
    BYPASS_MODEL_ACCESS_CONTROL: 'false', DEFAULT_USER_ROLE: 'user', OLLAMA_BASE_URL: ollama.url,
  })
})
afterAll(async () => {
  await app?.stop()
  await op?.stop()
  await ollama?.stop()
})

/** Signs in as `login` through the provider; answers the session token. */
async function tokenOf(login: string): Promise<string> {
  const jar: CookieJar = new Map()
  const outcome = await signIn(jar, app.url, op, login)
  expect(outcome.location).toBe('/')
  return jar.get('token')!
}

const modelsOf = async (token: string) =>
  ((await (await fetch(`${app.url}/api/models`, { headers: { authorization: `Bearer ${token}` } })).json()) as { data: { id: string }[] }).data.map((model) => model.id)
const chatStatus = async (token: string) => (await fetch(`${app.url}/api/chat/completions`, {
  method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
  body: JSON.stringify({ model: 'llama3.2:1b', messages: [{ role: 'user', content: 'hi' }] }),
})).status

test('a directory group granted a model: joining gives it, leaving at the next sign-in takes it from every session', async () => {
  const alice = op.accounts.get('alice')!
  const bob = op.accounts.get('bob')!
  try {
    op.accounts.set('bob', { ...bob, groups: [] })
    const admin = await tokenOf('bob')
    op.accounts.set('alice', { ...alice, groups: ['editors'] })
    const first = await tokenOf('alice')
    expect(await modelsOf(first)).toEqual([])
    const editors = (await app.deps.store.groups.findGroupByName('editors'))!
    expect(editors.source).toBe('oidc')
    const granted = await fetch(`${app.url}/api/v1/models/model/access/update`, {
      method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'llama3.2:1b', access_grants: [{ principal_type: 'group', principal_id: editors.id, permission: 'read' }] }),
    })
    expect(granted.status).toBe(200)
    expect(await modelsOf(first)).toEqual(['llama3.2:1b'])
    expect(await chatStatus(first)).toBe(200)

    op.accounts.set('alice', { ...alice, groups: [] })
    const second = await tokenOf('alice')
    for (const token of [first, second]) {
      expect(await modelsOf(token)).toEqual([])
      expect(await chatStatus(token)).toBe(404)
    }
    op.accounts.set('alice', { ...alice, groups: ['Editors'] })
    await tokenOf('alice')
    expect(await chatStatus(first)).toBe(200)
  } finally {
    op.accounts.set('alice', alice)
    op.accounts.set('bob', bob)
  }
})
