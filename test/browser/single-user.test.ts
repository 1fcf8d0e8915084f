/**
 * Single-user mode in Chromium against the binary: the page opens straight into the chat with no
 * sign-in, asks and gets an answer; another site's page that posts to the server gets a refusal
 * and no session.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { askThroughPage, expectNothingUnsafe, newPassword, openWatchedPage, startStage, waitForComposer, type Stage } from './harness.ts'

const TEST_TIMEOUT_MS = 60_000
let stage: Stage
let hostile: ReturnType<typeof Bun.serve>

beforeAll(async () => {
  stage = await startStage({ SINGLE_USER_MODE: 'true' })
  // note: another site (another host name and port) whose page posts a form to the server, as a forgery would.
  hostile = Bun.serve({
    hostname: '127.0.0.1', port: 0,
    fetch: (request) => {
      const target = new URL(request.url).searchParams.get('target') ?? ''
      return new Response(`<!doctype html><form method="post" action="${target}"></form><script>document.forms[0].submit()</script>`, { headers: { 'content-type': 'text/html' } })
    },
  })
})
afterAll(async () => {
  await hostile?.stop(true)
  await stage?.stop()
})

describe('single-user mode in the browser', () => {
  test('the UI opens straight into the chat, and a question gets its answer', async () => {
    const watched = await openWatchedPage(stage)
    await watched.page.goto(stage.server.url)
    await waitForComposer(watched.page)
    expect(await watched.page.getByLabel('Password').count()).toBe(0)
    await askThroughPage(watched.page, 'hello from the only user')
    await watched.page.locator('.message.assistant', { hasText: 'hello from the only user' }).first().waitFor()
    const cookies = await watched.context.cookies()
    expect(cookies.some((cookie) => cookie.name === 'token')).toBe(true)
    expectNothingUnsafe(watched)
    await watched.context.close()
  }, TEST_TIMEOUT_MS)

  test('the single user sets a first password in Settings, for when the mode is turned off', async () => {
    const watched = await openWatchedPage(stage)
    await watched.page.goto(`${stage.server.url}/settings/password`)
    const password = newPassword()
    await watched.page.getByLabel('New password', { exact: true }).fill(password)
    await watched.page.getByLabel('Repeat the new password').fill(password)
    await watched.page.getByRole('button', { name: 'Change password' }).click()
    await watched.page.getByText('Password changed.').waitFor()
    expectNothingUnsafe(watched)
    await watched.context.close()
  }, TEST_TIMEOUT_MS)

  test.each([
    ['another port on this machine', '127.0.0.1'],
    ['another host name', 'localhost'],
  ])("%s posting a form to the server gets a refusal and no session", async (_, hostName) => {
    const context = await stage.browser.newContext()
    const page = await context.newPage()
    const target = `${stage.server.url}/api/v1/auths/single-user`
    await page.goto(`http://${hostName}:${hostile.port}/?target=${encodeURIComponent(target)}`)
    await page.waitForURL(target)
    expect(await page.locator('body').innerText()).toContain('cross_site_request')
    expect((await context.cookies()).some((cookie) => cookie.name === 'token')).toBe(false)
    await context.close()
  }, TEST_TIMEOUT_MS)
})
