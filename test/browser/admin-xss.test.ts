/**
 * The admin and settings screens show text other people control: model names and pull errors from
 * an Ollama, account names, a session's user agent. Each hostile value from the XSS corpus must show
 * as text: nothing runs, nothing loads from elsewhere, no element is made from it.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { defaultFakeModels } from '../fakes/ollama-replies.ts'
import { expectNothingUnsafe, newPassword, openFromUserMenu, openWatchedPage, signInThroughPage, signUpThroughPage, startStage, type Stage, type Watched } from './harness.ts'
import { xssPayloads } from './xss-corpus.ts'

const TEST_TIMEOUT_MS = 120_000
const hostile = xssPayloads.filter((payload) => payload.length <= 180).slice(0, 12)
const admin = { name: 'Ada Admin', email: 'ada@example.com', password: newPassword() }
let stage: Stage
let ollama: FakeOllama

beforeAll(async () => {
  ollama = await startFakeOllama({ models: hostile.slice(0, 6).map((name) => ({ ...structuredClone(defaultFakeModels[0]!), name, model: name })) })
  stage = await startStage({ OLLAMA_BASE_URL: ollama.url })
  const { page, context } = await openWatchedPage(stage)
  await signUpThroughPage(page, stage.server.url, admin)
  await page.getByRole('button', { name: 'User menu' }).waitFor()
  await context.close()
  for (const [index, name] of hostile.entries()) {
    const res = await fetch(`${stage.server.url}/api/v1/auths/signup`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, email: `hostile${index}@example.com`, password: newPassword() }),
    })
    expect(res.status).toBe(200)
  }
}, TEST_TIMEOUT_MS)
afterAll(async () => {
  await stage?.stop()
  await ollama?.stop()
})

async function expectInert(watched: Watched): Promise<void> {
  expect(await watched.page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss === undefined)).toBe(true)
  expect(await watched.page.evaluate(() => document.querySelectorAll('main script, main iframe, main img, main svg:not([aria-hidden]), main style, main [onerror], main [onload]').length)).toBe(0)
  expectNothingUnsafe(watched)
}

test('hostile model names, pull errors and account names show as text on the admin page', async () => {
  const watched = await openWatchedPage(stage)
  const { page, context } = watched
  await signInThroughPage(page, stage.server.url, admin)
  await openFromUserMenu(page, 'Admin', 'Users')
  await page.locator('[data-pending]').first().waitFor()
  expect(await page.locator('[data-pending]').count()).toBe(hostile.length)
  await expectInert(watched)
  await openFromUserMenu(page, 'Admin', 'Ollama')
  await page.getByRole('heading', { name: 'Models' }).waitFor()
  await page.locator('tr[data-model]').first().waitFor()
  expect(await page.locator('tr[data-model]').count()).toBe(6)
  await page.locator('tr[data-model] button[aria-expanded]').first().click()
  ollama.setBehaviour({ fault: { kind: 'error_line', afterChunks: 1, error: hostile[1]! } })
  await page.getByLabel('Model name').fill('any-model')
  await page.getByRole('button', { name: 'Pull' }).click()
  await page.getByRole('alert').filter({ hasText: 'Pulling any-model failed' }).waitFor()
  ollama.setBehaviour({ fault: null })
  expect(await page.getByRole('alert').filter({ hasText: 'onerror' }).count()).toBe(1)
  await expectInert(watched)
  await context.close()
}, TEST_TIMEOUT_MS)

test('a hostile user agent shows as text in Settings', async () => {
  const agent = hostile[1]!
  const other = await stage.browser.newContext({ userAgent: agent })
  const elsewhere = await openWatchedPage(stage, { context: other })
  await signInThroughPage(elsewhere.page, stage.server.url, admin)
  await elsewhere.page.getByRole('button', { name: 'User menu' }).waitFor()
  const watched = await openWatchedPage(stage)
  const { page, context } = watched
  await signInThroughPage(page, stage.server.url, admin)
  await openFromUserMenu(page, 'Settings', 'Sessions')
  await page.getByRole('heading', { name: 'Where you are signed in' }).waitFor()
  await page.locator(`td[title="${agent.replace(/"/g, '\\"')}"]`).waitFor()
  await expectInert(watched)
  await context.close()
  await other.close()
}, TEST_TIMEOUT_MS)
