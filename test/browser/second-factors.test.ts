/**
 * Second factors in Chromium against the compiled binary: setting up an authenticator app in
 * Settings (QR code drawn under the strict CSP, recovery codes shown once), the second sign-in step
 * with a code and with a recovery code, and MFA_REQUIRED holding a new admin to enrolment.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { decodeBase32IgnorePadding } from '@oslojs/encoding'
import type { Page } from 'playwright-core'
import { awayFromStepEnd, codeAt } from '../helpers/second-factor.ts'
import { expectNothingUnsafe, newPassword, openFromUserMenu, openWatchedPage, signInThroughPage, signUpThroughPage, startStage, type Stage } from './harness.ts'

const TEST_TIMEOUT_MS = 60_000
let stage: Stage
let enforcing: Stage

beforeAll(async () => {
  ;[stage, enforcing] = await Promise.all([startStage(), startStage({ MFA_REQUIRED: 'admins' })])
}, TEST_TIMEOUT_MS)
afterAll(async () => {
  await stage?.stop()
  await enforcing?.stop()
})

/** Sets up the authenticator app on the form shown; returns its secret and the recovery codes. */
async function setUpAuthenticator(page: Page): Promise<{ secret: Uint8Array; codes: string[] }> {
  await page.getByRole('button', { name: 'Set up an authenticator app' }).click()
  const qr = page.getByRole('img', { name: 'QR code for your authenticator app' })
  await qr.waitFor()
  expect(await qr.locator('path').getAttribute('d')).toMatch(/^M\d+ \d+h1v1h-1z/)
  const secret = decodeBase32IgnorePadding((await page.getByTestId('totp-secret').innerText()).trim())
  // note: the previous step's code, so the current one is left unused for the sign-in that follows.
  await awayFromStepEnd()
  await page.getByLabel('Code from the app').fill(codeAt(secret, Date.now(), 1))
  await page.getByRole('button', { name: 'Turn on' }).click()
  const list = page.getByRole('list', { name: 'Recovery codes' })
  await list.waitFor()
  const codes = (await list.locator('li').allInnerTexts()).map((code) => code.trim())
  expect(codes).toHaveLength(10)
  return { secret, codes }
}

describe('second factors in the browser', () => {
  test('set up in Settings; sign in with the code, then with a recovery code', async () => {
    const watched = await openWatchedPage(stage)
    const { page } = watched
    const account = { name: 'Ada', email: 'ada@example.com', password: newPassword() }
    await signUpThroughPage(page, stage.server.url, account)
    await page.getByLabel('Message').waitFor()
    await openFromUserMenu(page, 'Settings', 'Second factors')
    const { secret, codes } = await setUpAuthenticator(page)
    await page.getByRole('button', { name: 'I have saved them' }).click()
    await page.getByText('Authenticator app: on. Recovery codes left: 10.').waitFor()
    // the password change now asks for a code too
    await openFromUserMenu(page, 'Settings', 'Password')
    await page.getByLabel('Code from your authenticator app').first().waitFor()
    await openFromUserMenu(page, 'Settings', 'Account')
    await page.getByRole('button', { name: 'Sign out', exact: true }).click()

    await signInThroughPage(page, stage.server.url, account)
    await page.getByRole('heading', { name: 'Second step' }).waitFor()
    await page.getByLabel('Code from your authenticator app').fill('000000')
    await page.getByRole('button', { name: 'Verify' }).click()
    await page.getByRole('alert').filter({ hasText: 'not right' }).waitFor()
    await page.getByLabel('Code from your authenticator app').fill(codeAt(secret, Date.now()))
    await page.getByRole('button', { name: 'Verify' }).click()
    await page.getByLabel('Message').waitFor()

    await openFromUserMenu(page, 'Settings', 'Account')
    await page.getByRole('button', { name: 'Sign out', exact: true }).click()
    await signInThroughPage(page, stage.server.url, account)
    await page.getByRole('button', { name: 'Use a recovery code' }).click()
    await page.getByLabel('Recovery code').fill(codes[0]!)
    await page.getByRole('button', { name: 'Verify' }).click()
    await page.getByLabel('Message').waitFor()
    expectNothingUnsafe(watched)
    await watched.context.close()
  }, TEST_TIMEOUT_MS)

  test('MFA_REQUIRED=admins: the first account (an admin) sets up a factor before anything else', async () => {
    const watched = await openWatchedPage(enforcing)
    const { page } = watched
    await signUpThroughPage(page, enforcing.server.url, { name: 'Ada', email: 'ada@example.com', password: newPassword() })
    await page.getByRole('heading', { name: 'Set up two-step sign-in' }).waitFor()
    expect(await page.getByLabel('Message').count()).toBe(0)
    await setUpAuthenticator(page)
    await page.getByRole('button', { name: 'I have saved them' }).click()
    await page.getByLabel('Message').waitFor()
    await openFromUserMenu(page, 'Admin', 'Second factors')
    await page.getByRole('heading', { name: 'Second factors' }).waitFor()
    await page.getByRole('button', { name: 'Reset second factors of ada@example.com' }).waitFor()
    expectNothingUnsafe(watched)
    await watched.context.close()
  }, TEST_TIMEOUT_MS)
})
