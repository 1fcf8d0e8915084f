/**
 * Single-user mode turned off, in Chromium against the binary: the first visit offers "Set a
 * password for admin@localhost", refuses two different passwords, sets it and opens the chat;
 * a later visit is the ordinary sign-in, where that password works.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { startBinary } from '../helpers/binary.ts'
import { askThroughPage, expectNothingUnsafe, newPassword, openWatchedPage, signInThroughPage, startStage, waitForComposer, type Stage } from './harness.ts'

const TEST_TIMEOUT_MS = 60_000
let stage: Stage
const password = newPassword()

beforeAll(async () => {
  stage = await startStage({}, async (dataDir) => {
    const single = await startBinary({ cwd: dataDir, env: { SINGLE_USER_MODE: 'true' } })
    await single.stop()
  })
})
afterAll(async () => {
  await stage?.stop()
})

describe('the first visit after single-user mode was turned off', () => {
  test('offers to set the admin password, sets it and opens the chat', async () => {
    const watched = await openWatchedPage(stage)
    const { page } = watched
    await page.goto(stage.server.url)
    await page.getByRole('heading', { name: 'Set a password for admin@localhost' }).waitFor()
    expect(await page.getByRole('button', { name: 'Create one' }).count()).toBe(0)

    await page.getByLabel('New password', { exact: true }).fill(password)
    await page.getByLabel('Repeat the new password').fill(`${password}-other`)
    await page.getByRole('button', { name: 'Set password and sign in' }).click()
    await page.getByText('The two passwords differ.').waitFor()

    await page.getByLabel('Repeat the new password').fill(password)
    await page.getByRole('button', { name: 'Set password and sign in' }).click()
    await askThroughPage(page, 'hello after the switch')
    await page.locator('.message.assistant', { hasText: 'hello after the switch' }).first().waitFor()
    expect((await watched.context.cookies()).some((cookie) => cookie.name === 'token')).toBe(true)
    expectNothingUnsafe(watched)
    await watched.context.close()
  }, TEST_TIMEOUT_MS)

  test('beyond loopback, a refusal for the setup token brings its field, and the token is sent with the password', async () => {
    const { page, context } = await openWatchedPage(stage)
    // note: the server here listens on loopback and needs no token; the answers a server beyond it gives are played from the test.
    await page.route('**/api/config', async (route) => route.fulfill({ json: { ...(await (await route.fetch()).json()), account_claim: { email: 'admin@localhost' } } }))
    const posted: Record<string, unknown>[] = []
    await page.route('**/api/v1/auths/claim', async (route) => {
      posted.push(route.request().postDataJSON())
      await route.fulfill({ status: 403, json: { detail: 'Setting this password needs the setup token shown on the server console (also in DATA_DIR/.setup_token).', code: 'setup_token_required' } })
    })
    await page.goto(stage.server.url)
    const other = newPassword()
    await page.getByLabel('New password', { exact: true }).fill(other)
    await page.getByLabel('Repeat the new password').fill(other)
    expect(await page.getByLabel('Setup token').count()).toBe(0)
    await page.getByRole('button', { name: 'Set password and sign in' }).click()
    await page.getByText('needs the setup token').waitFor()
    await page.getByLabel('Setup token').fill('token-from-the-console')
    await page.getByRole('button', { name: 'Set password and sign in' }).click()
    while (posted.length < 2) await Bun.sleep(20)
    expect(posted).toEqual([{ password: other }, { password: other, setup_token: 'token-from-the-console' }])
    await context.close()
  }, TEST_TIMEOUT_MS)

  test('a later visit is the ordinary sign-in, and the password set there works', async () => {
    const watched = await openWatchedPage(stage)
    await watched.page.goto(stage.server.url)
    await watched.page.getByRole('button', { name: 'Sign in', exact: true }).waitFor()
    expect(await watched.page.getByText('Set a password for').count()).toBe(0)
    await signInThroughPage(watched.page, stage.server.url, { email: 'admin@localhost', password })
    await waitForComposer(watched.page)
    expectNothingUnsafe(watched)
    await watched.context.close()
  }, TEST_TIMEOUT_MS)
})
