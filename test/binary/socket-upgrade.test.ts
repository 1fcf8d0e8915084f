/**
 * The chat socket's upgrade against the compiled binary, as test/ws/socket-upgrade-equivalence.test.ts
 * runs it in-process: one binary as it starts by default (Bun's router takes `GET /api/ws` first,
 * socket-upgrade.ts) and one with CORS_ALLOW_ORIGIN set, which serves no fast route (every upgrade
 * through the app). Each request, raw bytes over TCP, must get the same status, body and answered
 * subprotocol from both (the CORS plugin adds its own headers, so the rest of the head is not compared).
 * The refusals' audit entries (`api_key_denied`, `socket_limit_reached`) must be alike too: one per
 * refused upgrade on either path (the fast path answers a refusal itself, without the app checking
 * the credential again).
 * Threat: the shipped fast path admitting what the app refuses, or auditing a refusal differently.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { binaryAppStarter, type BinaryApp } from '../helpers/binary-app.ts'
import { comparable, exchange, makeUpgradeAccounts, upgrade, UPGRADE_CASES_ENV, upgradeCases, type UpgradeAccounts } from '../helpers/raw-upgrade.ts'
import { connect, type TestSocket } from '../helpers/ws.ts'

const startApp = binaryAppStarter()
type Side = { binary: BinaryApp; accounts: UpgradeAccounts; restrictedKey: string }
let fast: Side
let viaApp: Side

beforeAll(async () => {
  const start = async (env: Record<string, string>): Promise<Side> => {
    // note: a limit of 4 sockets a user, which only the last test reaches (with the admin, whom no case upgrades).
    const binary = await startApp({ ...UPGRADE_CASES_ENV, WEBSOCKET_MAX_SOCKETS_PER_USER: '4', ...env })
    return { binary, ...await makeUpgradeAccounts(binary.app) }
  }
  ;[fast, viaApp] = await Promise.all([start({}), start({ CORS_ALLOW_ORIGIN: 'https://chat.example.com' })])
}, 60_000)

const answerOf = async ({ binary, accounts, restrictedKey }: Side, head: (accounts: UpgradeAccounts, key: string) => string) => {
  const { status, headers, body } = comparable(await exchange(Number(new URL(binary.server().url).port), head(accounts, restrictedKey)))
  // note: a body names no account, so the two binaries' bodies compare as they are.
  return { status, body, protocol: headers['sec-websocket-protocol'] ?? null }
}

test.each(upgradeCases())('the same answer through Bun\'s router and through the app: %s', async (_, head, status) => {
  const answer = await answerOf(fast, head)
  expect(answer).toEqual(await answerOf(viaApp, head))
  if (status !== -1) expect(answer.status).toBe(status)
})

const auditEvents = ({ binary }: Side, event: string) =>
  readFileSync(join(binary.cwd, 'data', 'audit.log'), 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>).filter((entry) => entry.event === event)

test.each(upgradeCases().filter(([what]) => what.startsWith('an API key limited to other routes')))('%s: audited api_key_denied once on either path, never the key', async (_, head) => {
  const before = [auditEvents(fast, 'api_key_denied').length, auditEvents(viaApp, 'api_key_denied').length]
  expect(await answerOf(fast, head)).toEqual(await answerOf(viaApp, head))
  for (const [i, side] of [fast, viaApp].entries()) {
    const denied = auditEvents(side, 'api_key_denied')
    expect(denied).toHaveLength(before[i]! + 1)
    expect(denied.at(-1)).toMatchObject({ ip: '127.0.0.1', reason: 'api_key_endpoint_denied', details: { path: '/api/ws' } })
    expect(readFileSync(join(side.binary.cwd, 'data', 'audit.log'), 'utf8')).not.toContain(side.restrictedKey.slice(3))
  }
})

const held: TestSocket[] = []
afterAll(() => {
  for (const socket of held) socket.ws.close()
})

test('a user holding WEBSOCKET_MAX_SOCKETS_PER_USER gets the same 429 from both paths, audited once each', async () => {
  for (const side of [fast, viaApp]) {
    const url = `${side.binary.server().url.replace('http', 'ws')}/api/ws`
    for (let i = 0; i < 4; i += 1) held.push(await connect(url, { token: side.accounts.admin.token }))
  }
  const head = (accounts: UpgradeAccounts) => upgrade(`Sec-WebSocket-Protocol: enclave, ${accounts.admin.token}\r\n`)
  const answer = await answerOf(fast, head)
  expect(answer).toEqual(await answerOf(viaApp, head))
  expect(answer.status).toBe(429)
  expect(JSON.parse(answer.body)).toMatchObject({ code: 'too_many_sockets' })
  for (const side of [fast, viaApp]) expect(auditEvents(side, 'socket_limit_reached')).toEqual([expect.objectContaining({ actor_id: side.accounts.admin.id, ip: '127.0.0.1', method: 'session', details: { limit: 4 } })])
})
