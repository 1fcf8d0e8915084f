import { expect } from 'bun:test'
import type { UserId } from '../../src/db/ids.ts'
import type { App } from '../../src/http/create-app.ts'
import { req, startTestApp } from './test-app.ts'

export const PASSWORD = 'correct horse battery'

/** Open WebUI's session object, as sign-up and sign-in answer it. */
export type SessionBody = {
  token: string; token_type: string; expires_at: number | null
  id: string; email: string; name: string; role: string; profile_image_url: string
  permissions: { features: { api_keys: boolean } }
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
export const apiKeyHeader = (key: string) => ({ 'x-api-key': key })

/** Signs up through the route and fails the test unless it answers 200. */
export async function signUp(app: Pick<App, 'handle'>, email: string, password = PASSWORD, name = 'Ada'): Promise<SessionBody> {
  const res = await app.handle(req('POST', '/api/v1/auths/signup', { name, email, password }))
  expect(res.status).toBe(200)
  return (await res.json()) as SessionBody
}

/** Signs in through the route and fails the test unless it answers 200. */
export async function signIn(app: Pick<App, 'handle'>, email: string, password = PASSWORD): Promise<SessionBody> {
  const res = await app.handle(req('POST', '/api/v1/auths/signin', { email, password }))
  expect(res.status).toBe(200)
  return (await res.json()) as SessionBody
}

/** GET with a credential header set; returns the status only. */
export async function statusOf(app: Pick<App, 'handle'>, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<number> {
  return (await app.handle(req(method, path, body, headers))).status
}

/** Like startTestApp, with a clock that only moves when the test says so. */
export function startClockedApp(env: Record<string, string> = {}) {
  let at = Date.now()
  const base = startTestApp(env, () => at)
  return { ...base, advance: (ms: number) => void (at += ms) }
}

/** Signs up an administrator (ada) and a user the administrator approved (bob). */
export async function signUpAdminAndUser(app: App): Promise<{ ada: { id: UserId; token: string }; bob: { id: UserId; token: string } }> {
  const admin = await signUp(app, 'ada@example.com')
  const other = await signUp(app, 'bob@example.com')
  expect(await statusOf(app, 'POST', `/api/v1/users/${other.id}/update`, bearer(admin.token), { role: 'user' })).toBe(200)
  return { ada: { id: admin.id as UserId, token: admin.token }, bob: { id: other.id as UserId, token: other.token } }
}
