import { beforeAll, describe, expect, test } from 'bun:test'
import { apiKeyHeader, bearer, signIn, signUp } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

const ADMIN = { email: 'root.admin@example.com', password: 'admin-Pass-7731' }
const USER = { email: 'Casey.User@example.org', password: 'user-pass-0442!' }
const STRANGER = { email: 'nobody.here@example.net', password: 'guess-Pass-9910' }
const NEW_PASSWORD = 'replaced-pass-5518'
const WRONG_PASSWORD = 'wrong-Pass-3301'

describe('a realistic flow leaves a useful audit trail and no secrets', () => {
  const { app, audit, logLines } = startTestApp({ ENABLE_API_KEYS: 'true', DEFAULT_USER_ROLE: 'user', SIGNIN_RATE_LIMIT: '4/1m' })
  const secrets: string[] = [ADMIN.password, USER.password, STRANGER.password, NEW_PASSWORD, WRONG_PASSWORD]
  const emails = [ADMIN.email, USER.email, STRANGER.email]
  const statuses: Record<string, number> = {}
  let adminId = ''
  let userId = ''

  const call = async (label: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await app.handle(req(method, path, body, headers))
    statuses[label] = res.status
    return res
  }

  beforeAll(async () => {
    const admin = await signUp(app, ADMIN.email, ADMIN.password, 'Root')
    const user = await signUp(app, USER.email, USER.password, 'Casey')
    adminId = admin.id
    userId = user.id
    const adminSession = await signIn(app, ADMIN.email, ADMIN.password)
    const userSession = await signIn(app, USER.email.toLowerCase(), USER.password)
    secrets.push(admin.token, user.token, adminSession.token, userSession.token)

    await call('wrong password', 'POST', '/api/v1/auths/signin', { email: ADMIN.email, password: WRONG_PASSWORD })
    await call('unknown account', 'POST', '/api/v1/auths/signin', STRANGER)
    const created = await (await call('create key', 'POST', '/api/v1/auths/api_key', { name: 'backup' }, bearer(adminSession.token))).json()
    secrets.push(created.api_key)
    await call('use key', 'GET', '/api/v1/users/', undefined, apiKeyHeader(created.api_key))
    await call('key may not change password', 'POST', '/api/v1/auths/update/password', { password: ADMIN.password, new_password: NEW_PASSWORD }, bearer(created.api_key))
    await call('change password', 'POST', '/api/v1/auths/update/password', { password: USER.password, new_password: NEW_PASSWORD }, bearer(userSession.token))
    await call('sign out', 'POST', '/api/v1/auths/signout', undefined, bearer(admin.token))
    await call('demote', 'POST', `/api/v1/users/${userId}/update`, { role: 'pending' }, bearer(adminSession.token))
    await call('delete key', 'DELETE', `/api/v1/auths/api_key/${created.id}`, undefined, bearer(adminSession.token))
    await call('delete user', 'DELETE', `/api/v1/users/${userId}`, undefined, bearer(adminSession.token))
    for (let i = 0; i < 5; i++) await call(`flood ${i}`, 'POST', '/api/v1/auths/signin', { email: ADMIN.email, password: WRONG_PASSWORD })
  })

  test('the client saw what it should', () => {
    expect(statuses).toMatchObject({
      'wrong password': 400, 'unknown account': 400, 'create key': 200, 'use key': 200, 'key may not change password': 403,
      'change password': 200, 'sign out': 200, demote: 200, 'delete key': 200, 'delete user': 200, 'flood 0': 400, 'flood 3': 429,
    })
  })

  test('the trail has each event, with ids and reason codes', () => {
    const events = audit.entries.map((entry) => entry.event)
    for (const event of ['signup', 'signin_succeeded', 'signin_failed', 'api_key_created', 'password_changed', 'signout', 'role_changed', 'api_key_deleted', 'user_deleted', 'rate_limited'] as const) {
      expect(events).toContain(event)
    }
    const failed = audit.entries.filter((entry) => entry.event === 'signin_failed')
    expect(failed[0]).toMatchObject({ reason: 'wrong_password', method: 'password', targetId: adminId })
    expect(failed[1]).toMatchObject({ reason: 'unknown_account', method: 'password' })
    expect(failed[1]!.targetId ?? null).toBeNull()
    expect(audit.entries.find((entry) => entry.event === 'user_deleted')).toMatchObject({ actorId: adminId, targetId: userId })
    expect(audit.entries.find((entry) => entry.event === 'role_changed')).toMatchObject({ targetId: userId, details: { from: 'user', to: 'pending' } })
    expect(audit.entries.filter((entry) => entry.event === 'signup').map((entry) => entry.actorId)).toEqual([adminId, userId])
    for (const entry of audit.entries) expect(typeof entry.at).toBe('string')
  })

  test('no audit entry and no log line holds a password, token, API key or email', () => {
    const written = [JSON.stringify(audit.entries), ...logLines].join('\n').toLowerCase()
    expect(audit.entries.length).toBeGreaterThan(10)
    for (const secret of secrets) {
      expect(written).not.toContain(secret.toLowerCase())
      if (secret.includes('.')) expect(written).not.toContain(secret.split('.')[2]!.toLowerCase()) // a token's signature
      if (secret.startsWith('sk-')) expect(written).not.toContain(secret.slice(3).toLowerCase())
    }
    for (const email of emails) {
      expect(written).not.toContain(email.toLowerCase())
      expect(written).not.toContain(email.split('@')[0]!.toLowerCase())
    }
    expect(written).not.toContain('@')
  })
})
