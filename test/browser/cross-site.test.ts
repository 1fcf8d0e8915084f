/**
 * A foreign page in Chromium against the compiled binary: a page served from another site
 * (127.0.0.2, a different host) submits forms to the server and navigates to its sign-out. The
 * server must refuse each: no admin made on a fresh server, no session for the attacker's account
 * in the visitor's browser, and the visitor's own session left alone.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { existsSync } from 'node:fs'
import type { Browser, BrowserContext } from 'playwright-core'
import { PASSWORD } from '../helpers/accounts.ts'
import { startBinary, tempDirsRemovedAfterAll, type RunningBinary } from '../helpers/binary.ts'
import { CHROMIUM, launchChromium } from './launch-chromium.ts'

const TEST_TIMEOUT_MS = 60_000
let server: RunningBinary
let browser: Browser
let foreign: ReturnType<typeof Bun.serve>
/** The HTML the foreign site serves next, set by each test. */
let foreignPage = ''

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install the chromium package (see .ci/run).`)
  server = await startBinary({ cwd: tempDirsRemovedAfterAll()() })
  foreign = Bun.serve({ hostname: '127.0.0.2', port: 0, fetch: () => new Response(foreignPage, { headers: { 'content-type': 'text/html' } }) })
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
  await foreign?.stop(true)
  await server?.stop()
})

const foreignUrl = () => `http://127.0.0.2:${foreign.port}/`
const onboarding = async () => ((await (await fetch(`${server.url}/api/config`)).json()) as { onboarding: boolean }).onboarding

/** A page that posts a urlencoded form to the server as soon as it loads. */
function autoSubmittingForm(path: string, fields: Record<string, string>): string {
  const inputs = Object.entries(fields).map(([name, value]) => `<input name="${name}" value="${value}">`).join('')
  return `<!doctype html><form id="f" method="POST" action="${server.url}${path}">${inputs}</form><script>document.getElementById('f').submit()</script>`
}

/** Opens the foreign page in the context and waits until the browser has landed on the server's answer. */
async function visitForeignPage(context: BrowserContext, html: string): Promise<number | null> {
  foreignPage = html
  const page = await context.newPage()
  const answer = page.waitForResponse((response) => response.url().startsWith(server.url))
  await page.goto(foreignUrl())
  const status = (await answer).status()
  await page.close()
  return status
}

const tokenCookies = async (context: BrowserContext) => (await context.cookies(server.url)).filter((cookie) => cookie.name === 'token')

test('a foreign page\'s form on a fresh server makes no admin and sets no cookie', async () => {
  const context = await browser.newContext()
  const status = await visitForeignPage(context, autoSubmittingForm('/api/v1/auths/signup', { name: 'Mallory', email: 'mallory@evil.example', password: 'mallory password 42' }))
  expect(status).toBe(403)
  expect(await onboarding()).toBe(true)
  expect(await tokenCookies(context)).toEqual([])
  await context.close()
}, TEST_TIMEOUT_MS)

test('login CSRF: a foreign page\'s sign-in form does not sign the browser in to the attacker\'s account', async () => {
  const signup = await fetch(`${server.url}/api/v1/auths/signup`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Mallory', email: 'mallory@example.com', password: PASSWORD }),
  })
  expect(signup.status).toBe(200)
  const context = await browser.newContext()
  const status = await visitForeignPage(context, autoSubmittingForm('/api/v1/auths/signin', { email: 'mallory@example.com', password: PASSWORD }))
  expect(status).toBe(403)
  expect(await tokenCookies(context)).toEqual([])
  await context.close()
}, TEST_TIMEOUT_MS)

test('a foreign page that navigates to sign-out leaves the visitor signed in', async () => {
  const signin = await fetch(`${server.url}/api/v1/auths/signin`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'mallory@example.com', password: PASSWORD }),
  })
  const { token } = (await signin.json()) as { token: string }
  const context = await browser.newContext()
  await context.addCookies([{ name: 'token', value: token, url: server.url, httpOnly: true, sameSite: 'Lax' }])
  const status = await visitForeignPage(context, `<!doctype html><script>location.href = ${JSON.stringify(`${server.url}/api/v1/auths/signout`)}</script>`)
  expect(status).toBe(403)
  expect((await tokenCookies(context)).map((cookie) => cookie.value)).toEqual([token])
  expect((await fetch(`${server.url}/api/v1/auths/`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200)
  await context.close()
}, TEST_TIMEOUT_MS)
