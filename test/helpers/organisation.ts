import { expect } from 'bun:test'
import type { App } from '../../src/http/create-app.ts'
import { bearer, signUp, startClockedApp } from './accounts.ts'
import { req } from './test-app.ts'

/** Three accounts: Ada (admin, first), Bob (promoted to user) and Pat (still pending). */
export async function startWithThreeAccounts(env: Record<string, string> = {}) {
  const started = startClockedApp(env)
  const ada = await signUp(started.app, 'ada@example.com')
  const bob = await signUp(started.app, 'bob@example.com')
  const pat = await signUp(started.app, 'pat@example.com')
  const promoted = await started.app.handle(req('POST', `/api/v1/users/${bob.id}/update`, { role: 'user' }, bearer(ada.token)))
  expect(promoted.status).toBe(200)
  return { ...started, ada: bearer(ada.token), bob: bearer(bob.token), pat: bearer(pat.token), adaId: ada.id, bobId: bob.id }
}

/** Sends a request and fails the test unless it answers 200; returns the JSON body. */
export async function call<T>(app: Pick<App, 'handle'>, method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<T> {
  const res = await app.handle(req(method, path, body, headers))
  if (res.status !== 200) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`)
  return (await res.json()) as T
}

/** Creates a chat as Open WebUI's frontend does (POST /api/v1/chats/new); returns its id. */
export async function newChat(app: Pick<App, 'handle'>, headers: Record<string, string>, title: string, content = 'Hello'): Promise<string> {
  const chat = await call<{ id: string }>(app, 'POST', '/api/v1/chats/new', headers, {
    chat: { id: '', title, models: ['llama3'], messages: [{ id: 'm1', parentId: null, childrenIds: [], role: 'user', content, timestamp: 1 }], tags: [], timestamp: 1 },
  })
  return chat.id
}
