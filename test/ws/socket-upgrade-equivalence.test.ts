/**
 * The chat socket's upgrade sent over the wire to two servers of one app: one as `serve` runs it
 * (listen.ts: Bun's router takes `GET /api/ws` first, socket-upgrade.ts) and one with the app's
 * handler alone (every upgrade through the app's plugins and its socket route). Each request, raw
 * bytes over TCP, must get the same answer from both: the status, the headers that matter and the
 * body. Threat: the fast path admitting what the app refuses (another site's Origin, a key not
 * allowed on /api/ws, a revoked session, a pending or deleted account, a forged or malformed
 * credential) or answering a refusal differently, or auditing it differently (a key refused on
 * /api/ws is audited `api_key_denied` once per upgrade on either path; a user at
 * WEBSOCKET_MAX_SOCKETS_PER_USER is refused 429 and audited `socket_limit_reached`).
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Server } from 'bun'
import { websocket } from 'elysia/ws'
import { listen } from '../../src/http/listen.ts'
import { comparable, exchange, makeUpgradeAccounts, upgrade, UPGRADE_CASES_ENV, upgradeCases, type UpgradeAccounts } from '../helpers/raw-upgrade.ts'
import { connect, type TestSocket } from '../helpers/ws.ts'
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
  return Object.assign(bothAnswers, {
    audit: () => started.audit,
    accounts: () => made.accounts,
    socketUrl: () => `ws://127.0.0.1:${fastServer.port}/api/ws`,
  })
}

/** Opens a socket, trying again while the server has not yet counted a close (its 429); gives up after 100 tries. */
async function connectWhenRoom(url: string, token: string): Promise<TestSocket> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await connect(url, { token })
    } catch (error) {
      if (attempt >= 100) throw error
      await Bun.sleep(10)
    }
  }
}

/** The audit entries of `event` recorded while `run` ran. */
async function auditedDuring(audit: ReturnType<typeof startTestApp>['audit'], event: string, run: () => Promise<unknown>) {
  const before = audit.entries.length
  await run()
  return audit.entries.slice(before).filter((entry) => entry.event === event)
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

describe('a refusal is audited once, whichever path answers it', () => {
  const bothAnswers = servedBothWays(UPGRADE_CASES_ENV)
  const keyCases = upgradeCases().filter(([what]) => what.startsWith('an API key limited to other routes'))

  test.each(keyCases)('%s: api_key_denied once on each path, naming /api/ws and the client, never the key', async (_, headOf) => {
    let answers: Awaited<ReturnType<typeof bothAnswers>> | undefined
    const denied = await auditedDuring(bothAnswers.audit(), 'api_key_denied', async () => { answers = await bothAnswers(headOf) })
    expect(answers!.fast).toEqual(answers!.viaApp)
    expect(denied).toHaveLength(2)
    for (const entry of denied) expect(entry).toMatchObject({ event: 'api_key_denied', ip: '127.0.0.1', reason: 'api_key_endpoint_denied', details: { path: '/api/ws' } })
    expect(JSON.stringify(denied)).not.toContain('sk-')
  })

  test('other refusals write no api_key_denied', async () => {
    const denied = await auditedDuring(bothAnswers.audit(), 'api_key_denied', async () => {
      for (const [what, headOf] of upgradeCases()) if (!what.startsWith('an API key')) await bothAnswers(headOf)
    })
    expect(denied).toEqual([])
  })
})

describe('a user at WEBSOCKET_MAX_SOCKETS_PER_USER gets the same 429 from both paths, audited', () => {
  const bothAnswers = servedBothWays({ ...UPGRADE_CASES_ENV, WEBSOCKET_MAX_SOCKETS_PER_USER: '2' })
  const open: TestSocket[] = []
  afterAll(() => {
    for (const socket of open) socket.ws.close()
  })

  test('the third socket is refused alike, and one closed makes room again', async () => {
    const user = bothAnswers.accounts().user
    for (let i = 0; i < 2; i += 1) {
      const socket = await connect(bothAnswers.socketUrl(), { token: user.token })
      open.push(socket)
    }
    let answers: Awaited<ReturnType<typeof bothAnswers>> | undefined
    const refused = await auditedDuring(bothAnswers.audit(), 'socket_limit_reached', async () => {
      answers = await bothAnswers(() => upgrade(`Sec-WebSocket-Protocol: enclave, ${user.token}\r\n`))
    })
    expect(answers!.fast).toEqual(answers!.viaApp)
    expect(answers!.fast.status).toBe(429)
    expect(JSON.parse(answers!.fast.body)).toMatchObject({ code: 'too_many_sockets' })
    expect(refused).toHaveLength(2)
    for (const entry of refused) expect(entry).toMatchObject({ actorId: user.id, ip: '127.0.0.1', method: 'session', details: { limit: 2 } })
    // Another user is not held back by this one's sockets.
    const other = await bothAnswers((accounts) => upgrade(`Sec-WebSocket-Protocol: enclave, ${accounts.admin.token}\r\n`))
    expect(other.fast.status).toBe(101)
    // One closed gives its place back: a socket opens again once the server has seen the close.
    const leaving = open.shift()!
    leaving.ws.close()
    await leaving.closed
    open.push(await connectWhenRoom(bothAnswers.socketUrl(), user.token))
  })
})
