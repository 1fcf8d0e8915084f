/**
 * The chat socket's upgrade against the compiled binary, as test/ws/socket-upgrade-equivalence.test.ts
 * runs it in-process: one binary as it starts by default (Bun's router takes `GET /api/ws` first,
 * socket-upgrade.ts) and one with CORS_ALLOW_ORIGIN set, which serves no fast route (every upgrade
 * through the app). Each request, raw bytes over TCP, must get the same status, body and answered
 * subprotocol from both (the CORS plugin adds its own headers, so the rest of the head is not compared).
 * Threat: the shipped fast path admitting what the app refuses.
 */
import { beforeAll, expect, test } from 'bun:test'
import { binaryAppStarter, type BinaryApp } from '../helpers/binary-app.ts'
import { comparable, exchange, makeUpgradeAccounts, UPGRADE_CASES_ENV, upgradeCases, type UpgradeAccounts } from '../helpers/raw-upgrade.ts'

const startApp = binaryAppStarter()
type Side = { binary: BinaryApp; accounts: UpgradeAccounts; restrictedKey: string }
let fast: Side
let viaApp: Side

beforeAll(async () => {
  const start = async (env: Record<string, string>): Promise<Side> => {
    const binary = await startApp({ ...UPGRADE_CASES_ENV, ...env })
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
