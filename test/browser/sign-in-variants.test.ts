/**
 * The sign-in page draws itself from GET /api/config. The LDAP and SSO back ends live elsewhere,
 * so these tests answer /api/config (and the LDAP sign-in) from the test, in Open WebUI's shape
 * agreed for them, and check what the page shows and sends. Sign-up refused by the real server
 * (ENABLE_SIGNUP=false) is checked against the binary.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Page, Route } from 'playwright-core'
import { expectNothingUnsafe, newPassword, openWatchedPage, startStage, type Stage } from './harness.ts'

const TEST_TIMEOUT_MS = 60_000
let stage: Stage

const baseConfig = {
  status: true, name: 'Enclave', version: 'test',
  features: { auth: true, enable_signup: true, enable_login_form: true, enable_password_auth: true, enable_ldap: false, enable_api_keys: false },
  oauth: { providers: {} as Record<string, string> },
}
type ConfigChange = { features?: Partial<typeof baseConfig.features>; ldap?: { label: string }; oauth?: { providers: Record<string, string> }; onboarding?: boolean }

/** Answers /api/config with the agreed shape, changed as given. */
async function serveConfig(page: Page, change: ConfigChange): Promise<void> {
  await page.route('**/api/config', (route: Route) => route.fulfill({
    json: { ...baseConfig, ...change, features: { ...baseConfig.features, ...change.features } },
  }))
}

beforeAll(async () => {
  stage = await startStage({ ENABLE_SIGNUP: 'false', WEBUI_ADMIN_EMAIL: 'root@example.com', WEBUI_ADMIN_PASSWORD: newPassword() })
})
afterAll(async () => {
  await stage?.stop()
})

describe('sign-in page variants', () => {
  test('with sign-up off on the server, the page says so and offers no sign-up', async () => {
    const watched = await openWatchedPage(stage)
    await watched.page.goto(stage.server.url)
    await watched.page.getByText('Sign-up is turned off on this server').waitFor()
    expect(await watched.page.getByRole('button', { name: 'Create one' }).count()).toBe(0)
    const refused = await fetch(`${stage.server.url}/api/v1/auths/signup`, {
      method: 'POST', headers: { 'content-type': 'application/json', origin: stage.server.url },
      body: JSON.stringify({ name: 'x', email: 'x@example.com', password: newPassword() }),
    })
    expect(refused.status).toBe(403)
    expectNothingUnsafe(watched)
    await watched.context.close()
  }, TEST_TIMEOUT_MS)

  test('LDAP: a form with the configured label posts {user, password} to /api/v1/auths/ldap and shows the refusal', async () => {
    const { page, context } = await openWatchedPage(stage)
    await serveConfig(page, { features: { enable_ldap: true }, ldap: { label: 'Corporate directory' } })
    const posted: unknown[] = []
    await page.route('**/api/v1/auths/ldap', async (route) => {
      posted.push(route.request().postDataJSON())
      await route.fulfill({ status: 400, json: { detail: 'The username or password provided is incorrect.', code: 'invalid_credentials' } })
    })
    await page.goto(stage.server.url)
    await page.getByRole('button', { name: 'Corporate directory' }).click()
    await page.getByLabel('Username').fill('alice')
    const password = newPassword()
    await page.getByLabel('Password').fill(password)
    await page.getByRole('button', { name: 'Sign in with Corporate directory' }).click()
    await page.getByRole('alert').filter({ hasText: 'incorrect' }).waitFor()
    expect(posted).toEqual([{ user: 'alice', password }])
    await context.close()
  }, TEST_TIMEOUT_MS)

  test('LDAP only (login form off): just the LDAP form; a pending answer shows the approval page', async () => {
    const { page, context } = await openWatchedPage(stage)
    await serveConfig(page, { features: { enable_ldap: true, enable_login_form: false }, ldap: { label: 'Directory' } })
    await page.route('**/api/v1/auths/ldap', (route) => route.fulfill({
      json: { token: 'x', token_type: 'Bearer', id: 'u1', email: 'dana@example.com', name: 'Dana', role: 'pending', permissions: { features: { api_keys: false } } },
    }))
    await page.goto(stage.server.url)
    expect(await page.getByLabel('Email').count()).toBe(0)
    await page.getByLabel('Username').fill('dana')
    await page.getByLabel('Password').fill(newPassword())
    await page.getByRole('button', { name: 'Sign in with Directory' }).click()
    await page.getByRole('heading', { name: 'Waiting for approval' }).waitFor()
    await context.close()
  }, TEST_TIMEOUT_MS)

  test('SSO: one link per provider to /oauth/{id}/login; a failed flow\'s error is shown; no login form when it is off', async () => {
    const watched = await openWatchedPage(stage)
    const { page } = watched
    await serveConfig(page, { features: { enable_login_form: false }, oauth: { providers: { oidc: 'Company SSO', github: 'GitHub' } } })
    await page.goto(`${stage.server.url}/auth?error=${encodeURIComponent('The provider refused the sign-in.')}`)
    await page.getByRole('alert').filter({ hasText: 'The provider refused the sign-in.' }).waitFor()
    expect(await page.getByRole('link', { name: 'Continue with Company SSO' }).getAttribute('href')).toBe('/oauth/oidc/login')
    expect(await page.getByRole('link', { name: 'Continue with GitHub' }).getAttribute('href')).toBe('/oauth/github/login')
    expect(await page.getByLabel('Email').count()).toBe(0)
    expect(await page.getByLabel('Password').count()).toBe(0)
    expectNothingUnsafe(watched)
    await watched.context.close()
  }, TEST_TIMEOUT_MS)

  test('a first sign-up that needs the setup token asks for it and sends it', async () => {
    const { page, context } = await openWatchedPage(stage)
    await serveConfig(page, {})
    const posted: Record<string, unknown>[] = []
    await page.route('**/api/v1/auths/signup', async (route) => {
      const body = route.request().postDataJSON() as Record<string, unknown>
      posted.push(body)
      if (body.setup_token === undefined) {
        await route.fulfill({ status: 403, json: { detail: 'The first account needs the setup token shown on the server console (also in DATA_DIR/.setup_token).', code: 'setup_token_required' } })
      } else await route.fulfill({ status: 400, json: { detail: 'That is not the setup token.', code: 'invalid_setup_token' } })
    })
    await page.goto(stage.server.url)
    await page.getByRole('button', { name: 'Create one' }).click()
    await page.getByLabel('Name').fill('First')
    await page.getByLabel('Email').fill('first@example.com')
    await page.getByLabel('Password').fill(newPassword())
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.getByRole('alert').filter({ hasText: 'setup token' }).waitFor()
    const setupToken = crypto.randomUUID()
    await page.getByLabel('Setup token').fill(setupToken)
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.getByRole('alert').filter({ hasText: 'not the setup token' }).waitFor()
    expect(posted.map((body) => body.setup_token)).toEqual([undefined, setupToken])
    await context.close()
  }, TEST_TIMEOUT_MS)

  test('a server with no account yet opens on the sign-up form, even with sign-up and the login form off', async () => {
    const { page, context } = await openWatchedPage(stage)
    await serveConfig(page, { onboarding: true, features: { enable_signup: false, enable_login_form: false } })
    const posted: Record<string, unknown>[] = []
    await page.route('**/api/v1/auths/signup', async (route) => {
      posted.push(route.request().postDataJSON() as Record<string, unknown>)
      await route.fulfill({ status: 400, json: { detail: 'Please give a name.', code: 'blank_name' } })
    })
    await page.goto(stage.server.url)
    await page.getByText('the first one becomes its administrator').waitFor()
    expect(await page.getByText('Sign-up is turned off').count()).toBe(0)
    await page.getByLabel('Name').fill('First')
    await page.getByLabel('Email').fill('first@example.com')
    await page.getByLabel('Password').fill(newPassword())
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.getByRole('alert').filter({ hasText: 'Please give a name' }).waitFor()
    expect(posted.map((body) => body.email)).toEqual(['first@example.com'])
    await context.close()
  }, TEST_TIMEOUT_MS)

  test('an SSO error holding markup is shown as text', async () => {
    const watched = await openWatchedPage(stage)
    const hostile = '<img src=x onerror="window.__xss=1">'
    await watched.page.goto(`${stage.server.url}/auth?error=${encodeURIComponent(hostile)}`)
    await watched.page.getByRole('alert').filter({ hasText: hostile }).waitFor()
    expect(await watched.page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss === undefined)).toBe(true)
    expectNothingUnsafe(watched)
    await watched.context.close()
  }, TEST_TIMEOUT_MS)
})
