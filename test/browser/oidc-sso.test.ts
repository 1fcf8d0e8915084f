/**
 * Single sign-on in a real browser: headless Chromium (Debian's, driven by playwright-core)
 * clicks through the provider's login and consent pages and ends signed in at Enclave.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import type { Browser } from 'playwright-core'
import { startOidcProvider, type TestOidcProvider } from '../helpers/oidc-provider.ts'
import { startSsoApp, type SsoApp } from '../helpers/sso-app.ts'
import { CHROMIUM, launchChromium } from './launch-chromium.ts'

let op: TestOidcProvider
let app: SsoApp
let browser: Browser
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`)
  op = await startOidcProvider()
  app = await startSsoApp(op, { ENABLE_OAUTH_SIGNUP: 'true', ENABLE_OAUTH_GROUP_MANAGEMENT: 'true', ENABLE_OAUTH_GROUP_CREATION: 'true' })
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await app?.stop()
  await op?.stop()
})

test('a browser signs in through the provider and lands at / with the session cookie', async () => {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${app.url}/oauth/oidc/login`, { timeout: 15_000 })
  expect(new URL(page.url()).origin).toBe(op.issuer)
  await page.fill('input[name="login"]', 'alice')
  await page.fill('input[name="password"]', op.passwordOf('alice'))
  await page.click('button[type="submit"]')
  await page.waitForURL((url) => url.origin === app.url || url.pathname.includes('/interaction/'), { timeout: 15_000 })
  if (new URL(page.url()).origin !== app.url) await page.click('button[type="submit"]') // consent
  await page.waitForURL(`${app.url}/`, { timeout: 15_000 })

  const cookies = await context.cookies(app.url)
  const token = cookies.find((cookie) => cookie.name === 'token')
  expect(token).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: '/' })
  expect(cookies.some((cookie) => cookie.name === 'oauth_flow')).toBe(false)
  const me = await page.request.get(`${app.url}/api/v1/auths/`)
  expect(me.status()).toBe(200)
  expect(await me.json()).toMatchObject({ email: 'alice@example.org', name: 'Alice Admin' })
  await context.close()
}, 60_000)

test('a refused sign-in lands on /auth with the error for the sign-in page to show', async () => {
  const context = await browser.newContext()
  const page = await context.newPage()
  await page.goto(`${app.url}/oauth/nope/login`, { timeout: 15_000 })
  const landed = new URL(page.url())
  expect(landed.pathname).toBe('/auth')
  expect(landed.searchParams.get('error')).toBe('That sign-in provider is not configured on this server.')
  expect((await context.cookies(app.url)).some((cookie) => cookie.name === 'token')).toBe(false)
  await context.close()
}, 60_000)
