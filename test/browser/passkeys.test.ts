/**
 * Passkeys in Chromium against the compiled binary, with the DevTools protocol's virtual
 * authenticator (WebAuthn.addVirtualAuthenticator): registering one in Settings, using it as the
 * second step after the password, confirming an API key with it, signing in with it alone (ENABLE_PASSKEY_LOGIN), a clone of it
 * with a stale signature counter refused, and removing it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { CDPSession, Page } from 'playwright-core'
import { newPassword, openFromUserMenu, openWatchedPage, signUpThroughPage, startStage, type Stage } from './harness.ts'

const TEST_TIMEOUT_MS = 90_000
let stage: Stage

beforeAll(async () => {
  stage = await startStage({ ENABLE_PASSKEY_LOGIN: 'true', ENABLE_API_KEYS: 'true' })
}, TEST_TIMEOUT_MS)
afterAll(async () => {
  await stage?.stop()
})

type VirtualCredential = { credentialId: string; isResidentCredential: boolean; rpId?: string; privateKey: string; userHandle?: string; signCount: number }

/** Adds a virtual platform authenticator with user verification, as a laptop's fingerprint reader. */
async function addAuthenticator(cdp: CDPSession): Promise<string> {
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  })
  return authenticatorId
}

async function credentialsOf(cdp: CDPSession, authenticatorId: string): Promise<VirtualCredential[]> {
  return ((await cdp.send('WebAuthn.getCredentials', { authenticatorId })) as { credentials: VirtualCredential[] }).credentials
}

/** Replaces the authenticator with another holding `credential` (a copy of the key, with its counter as given). */
async function swapAuthenticator(cdp: CDPSession, current: string, credential: VirtualCredential): Promise<string> {
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: current })
  const next = await addAuthenticator(cdp)
  await cdp.send('WebAuthn.addCredential', { authenticatorId: next, credential })
  return next
}

async function signOutFromSettings(page: Page): Promise<void> {
  await openFromUserMenu(page, 'Settings', 'Account')
  await page.getByRole('button', { name: 'Sign out', exact: true }).click()
  await page.getByLabel('Email').waitFor()
}

describe('passkeys in the browser', () => {
  test('register, second factor, passwordless, a cloned counter refused, removal', async () => {
    const watched = await openWatchedPage(stage)
    const { page, context } = watched
    // note: a relying party id must be a domain name, so the page is opened as localhost, not 127.0.0.1;
    // the harness's guard against other origins is replaced by one for this origin.
    const url = stage.server.url.replace('127.0.0.1', 'localhost')
    const origin = new URL(url).origin
    const outside: string[] = []
    await page.unrouteAll()
    await page.route((target) => target.origin !== origin, (route) => {
      outside.push(route.request().url())
      return route.abort()
    })
    const cdp = await context.newCDPSession(page)
    await cdp.send('WebAuthn.enable', { enableUI: false })
    let authenticator = await addAuthenticator(cdp)
    const account = { name: 'Ada', email: 'ada@example.com', password: newPassword() }
    await signUpThroughPage(page, url, account)
    await page.getByLabel('Message').waitFor()
    await openFromUserMenu(page, 'Settings', 'Second factors')
    await page.getByLabel('Name of the new passkey').fill('Laptop')
    await page.getByRole('button', { name: 'Add a passkey' }).click()
    await page.getByRole('table', { name: 'Passkeys' }).getByText('Laptop').waitFor()
    const [registered] = await credentialsOf(cdp, authenticator)
    expect(registered).toMatchObject({ rpId: 'localhost', isResidentCredential: true })

    // a lasting change (an API key) needs a passkey confirmation first
    await openFromUserMenu(page, 'Settings', 'API keys')
    await page.getByLabel('Key name').fill('laptop')
    await page.getByRole('button', { name: 'Create key' }).click()
    await page.getByRole('alert').filter({ hasText: 'Confirm with your passkey' }).waitFor()
    await page.getByRole('button', { name: 'Confirm with a passkey' }).first().click()
    await page.getByText('Confirmed with your passkey.').first().waitFor()
    await page.getByRole('button', { name: 'Create key' }).click()
    await page.getByText('Your new key').waitFor()

    // the second step after the password
    await signOutFromSettings(page)
    await page.getByLabel('Email').fill(account.email)
    await page.getByLabel('Password').fill(account.password)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.getByRole('heading', { name: 'Second step' }).waitFor()
    expect(await page.getByLabel('Code from your authenticator app').count()).toBe(0)
    await page.getByRole('button', { name: 'Use a passkey' }).click()
    await page.getByLabel('Message').waitFor()

    // passwordless
    await signOutFromSettings(page)
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await page.getByLabel('Message').waitFor()
    const [used] = await credentialsOf(cdp, authenticator)
    expect(used!.signCount).toBeGreaterThan(registered!.signCount)

    // a clone made at registration: its counter lags the one the server saw last
    await signOutFromSettings(page)
    authenticator = await swapAuthenticator(cdp, authenticator, registered!)
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor()
    expect(readFileSync(join(stage.dataDir, 'data', 'audit.log'), 'utf8')).toContain('"reason":"cloned_authenticator"')

    // the original, with its own counter, still works; then the passkey is removed
    authenticator = await swapAuthenticator(cdp, authenticator, used!)
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await page.getByLabel('Message').waitFor()
    await openFromUserMenu(page, 'Settings', 'Second factors')
    await page.getByRole('button', { name: 'Remove passkey Laptop' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click()
    await page.getByRole('table', { name: 'Passkeys' }).waitFor({ state: 'detached' })
    await signOutFromSettings(page)
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await page.getByRole('alert').filter({ hasText: 'not accepted' }).waitFor()
    expect(outside).toEqual([])
    expect(watched.dialogs).toEqual([])
    expect(watched.cspViolations).toEqual([])
    await context.close()
  }, TEST_TIMEOUT_MS)
})
