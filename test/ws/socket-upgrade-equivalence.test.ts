/**
 * The chat socket's upgrade sent over the wire to two servers of one app: one as `serve` runs it
 * (listen.ts: Bun's router takes `GET /api/ws` first, socket-upgrade.ts) and one with the app's
 * handler alone (every upgrade through the app's plugins and its socket route). Each request, raw
 * bytes over TCP, must get the same answer from both: the status, the headers that matter and the
 * body. Threat: the fast path admitting what the app refuses (another site's Origin, a key not
 * allowed on /api/ws, a revoked session, a pending or deleted account, a forged or malformed
 * credential) or answering a refusal differently.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Server } from 'bun'
import { websocket } from 'elysia/ws'
import { listen } from '../../src/http/listen.ts'
import { comparable, exchange, makeUpgradeAccounts, UPGRADE_CASES_ENV, upgradeCases, type UpgradeAccounts } from '../helpers/raw-upgrade.ts'
import { startTestApp } from '../helpers/test-app.ts'

let started: ReturnType<typeof startTestApp>
let fastServer: Server<unknown>
let appServer: Server<unknown>
let accounts: UpgradeAccounts
let restrictedKey: string

beforeAll(async () => {
  started = startTestApp(UPGRADE_CASES_ENV)
  const { app } = started
  ;({ accounts, restrictedKey } = await makeUpgradeAccounts(app))
  fastServer = listen(app, { hostname: '127.0.0.1', port: 0, maxRequestBodySize: 1024 ** 3, reusePort: false })
  appServer = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (request) => app.fetch(request), websocket: { ...app.config.websocket, ...websocket } as never })
})
afterAll(async () => {
  await fastServer.stop(true)
  await appServer.stop(true)
})

/** The answer of each server, one after the other: the app upgrades through `app.server`, so it names the server asked. */
async function bothAnswers(head: string) {
  const { app } = started
  try {
    const fast = await exchange(fastServer.port!, head)
    app.server = appServer
    const viaApp = await exchange(appServer.port!, head)
    return { fast: comparable(fast), viaApp: comparable(viaApp) }
  } finally {
    app.server = fastServer
  }
}

describe('the same answer through Bun\'s router and through the app', () => {
  test.each(upgradeCases())('%s', async (_, headOf, status) => {
    const { fast, viaApp } = await bothAnswers(headOf(accounts, restrictedKey))
    expect(fast).toEqual(viaApp)
    if (status !== -1) expect(fast.status).toBe(status)
  })
})
