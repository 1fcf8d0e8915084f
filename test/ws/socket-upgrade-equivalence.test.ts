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

/** One app served both ways: Bun's router first (as `serve` runs it), and its handler alone. */
function servedBothWays(env: Record<string, string>) {
  let started: ReturnType<typeof startTestApp>
  let fastServer: Server<unknown>
  let appServer: Server<unknown>
  const made = { accounts: {} as UpgradeAccounts, restrictedKey: '' }

  beforeAll(async () => {
    started = startTestApp(env)
    const { app } = started
    Object.assign(made, await makeUpgradeAccounts(app))
    fastServer = listen(app, { hostname: '127.0.0.1', port: 0, maxRequestBodySize: 1024 ** 3, reusePort: false })
    appServer = Bun.serve({ hostname: '127.0.0.1', port: 0, fetch: (request) => app.fetch(request), websocket: { ...app.config.websocket, ...websocket } as never })
  })
  afterAll(async () => {
    await fastServer.stop(true)
    await appServer.stop(true)
  })

  /** The answer of each server, one after the other: the app upgrades through `app.server`, so it names the server asked. */
  async function bothAnswers(headOf: (accounts: UpgradeAccounts, restrictedKey: string) => string) {
    const { app } = started
    const head = headOf(made.accounts, made.restrictedKey)
    try {
      const fast = await exchange(fastServer.port!, head)
      app.server = appServer
      const viaApp = await exchange(appServer.port!, head)
      return { fast: comparable(fast), viaApp: comparable(viaApp) }
    } finally {
      app.server = fastServer
    }
  }
  return bothAnswers
}

describe('the same answer through Bun\'s router and through the app, no trusted proxy', () => {
  const bothAnswers = servedBothWays(UPGRADE_CASES_ENV)
  test.each(upgradeCases())('%s', async (_, headOf, status) => {
    const { fast, viaApp } = await bothAnswers(headOf)
    expect(fast).toEqual(viaApp)
    if (status !== -1) expect(fast.status).toBe(status)
  })
})

// note: from a trusted proxy X-Forwarded-Proto and X-Forwarded-Host count (HSTS over HTTPS, the origin it names), so the statuses differ from above; the two paths still agree.
describe('the same answer through Bun\'s router and through the app, behind a trusted proxy on loopback, HSTS set', () => {
  const bothAnswers = servedBothWays({ ...UPGRADE_CASES_ENV, FORWARDED_ALLOW_IPS: '127.0.0.1', HSTS: 'max-age=600' })
  test.each(upgradeCases())('%s', async (_, headOf) => {
    const { fast, viaApp } = await bothAnswers(headOf)
    expect(fast).toEqual(viaApp)
  })

  test('HSTS goes on the 101 when the proxy says HTTPS', async () => {
    const { fast } = await bothAnswers((accounts) => upgradeCases().find(([what]) => what.startsWith('X-Forwarded-Proto'))![1](accounts, ''))
    expect(fast.status).toBe(101)
    expect(fast.headers['strict-transport-security']).toBe('max-age=600')
  })
})
