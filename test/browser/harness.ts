/**
 * Drives the UI in Debian's Chromium (playwright-core, headless) against the compiled binary and
 * the Ollama stand-in. Each suite starts its own server on a free port in its own temp directory.
 * Every page records what must never happen: a dialog, a request to another origin, a CSP
 * violation or a console error; `expectNothingUnsafe` checks them.
 */
import { expect } from 'bun:test'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { startFakeOllama, type FakeModel, type FakeOllama } from '../fakes/ollama.ts'
import { makeTempDir, startBinary, type RunningBinary } from '../helpers/binary.ts'
import { CHROMIUM, launchChromium } from './launch-chromium.ts'

export { CHROMIUM, CHROMIUM_ARGS } from './launch-chromium.ts'

/** Screenshots go here (git-ignored). */
export const SCREENSHOT_DIR = join(import.meta.dir, '..', '..', 'artifacts', 'screenshots')

export type Stage = { server: RunningBinary; ollama: FakeOllama; browser: Browser; dataDir: string; stop(): Promise<void> }

/** Starts the stand-in, the binary pointed at it, and Chromium; `prepare` may fill the data directory first. */
export async function startStage(env: Record<string, string> = {}, prepare?: (dataDir: string) => Promise<void>, models?: readonly FakeModel[]): Promise<Stage> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install the chromium package (see .ci/run).`)
  const ollama = await startFakeOllama(models === undefined ? {} : { models })
  const dataDir = makeTempDir('enclave-ui-')
  await prepare?.(dataDir)
  // note: titles off unless a suite turns them on (titles.test.ts): most suites find chats by the first line they asked.
  const server = await startBinary({ cwd: dataDir, env: { OLLAMA_BASE_URL: ollama.url, ENABLE_TITLE_GENERATION: 'false', ...env } })
  const browser = await launchChromium()
  return {
    server, ollama, browser, dataDir,
    async stop() {
      await browser.close()
      await server.stop()
      await ollama.stop()
    },
  }
}

export type Watched = { page: Page; context: BrowserContext; dialogs: string[]; outsideRequests: string[]; cspViolations: string[]; consoleErrors: string[] }

/** Opens a page in a fresh context (its own cookies) that records anything unsafe. */
export async function openWatchedPage(stage: Stage, options: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number }; context?: BrowserContext } = {}): Promise<Watched> {
  const context = options.context ?? await stage.browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 800 }, colorScheme: options.colorScheme ?? 'light', reducedMotion: 'reduce',
  })
  const page = await context.newPage()
  const origin = new URL(stage.server.url).origin
  const watched: Watched = { page, context, dialogs: [], outsideRequests: [], cspViolations: [], consoleErrors: [] }
  page.on('dialog', (dialog) => {
    watched.dialogs.push(dialog.message())
    void dialog.dismiss()
  })
  page.on('request', (request) => {
    const url = request.url()
    if (!url.startsWith(origin) && !url.startsWith('data:') && !url.startsWith('blob:')) watched.outsideRequests.push(url)
  })
  // note: a request to anywhere else is refused here too, so nothing can leave even if one were made.
  await page.route((url) => url.origin !== origin && url.protocol !== 'data:' && url.protocol !== 'blob:', (route) => route.abort())
  page.on('console', (message) => {
    if (/content security policy/i.test(message.text())) watched.cspViolations.push(message.text())
    else if (message.type() === 'error') watched.consoleErrors.push(message.text())
  })
  await page.exposeFunction('__reportCspViolation', (text: string) => watched.cspViolations.push(text))
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (event) => {
      ;(window as unknown as { __reportCspViolation(text: string): void }).__reportCspViolation(`${event.violatedDirective} ${event.blockedURI}`)
    })
  })
  return watched
}

/** Asserts that nothing unsafe happened on the page. */
export function expectNothingUnsafe(watched: Watched): void {
  expect(watched.dialogs).toEqual([])
  expect(watched.outsideRequests).toEqual([])
  expect(watched.cspViolations).toEqual([])
}

/** Signs up through the page; returns when the next screen shows. */
export async function signUpThroughPage(page: Page, url: string, account: { name: string; email: string; password: string }): Promise<void> {
  await page.goto(url)
  // note: a server with no account opens on the sign-up form; later ones start at sign-in.
  const createOne = page.getByRole('button', { name: 'Create one' })
  await Promise.race([createOne.waitFor(), page.getByLabel('Name').waitFor()])
  if (await createOne.isVisible()) await createOne.click()
  await page.getByLabel('Name').fill(account.name)
  await page.getByLabel('Email').fill(account.email)
  await page.getByLabel('Password').fill(account.password)
  await page.getByRole('button', { name: 'Create account' }).click()
}

/** Waits until the message box accepts a question (models loaded, socket open, no answer running); a timeout says what the page shows. */
export async function waitForComposer(page: Page): Promise<void> {
  try {
    await page.locator('form.composer[data-ready]').waitFor()
  } catch (error) {
    const shown = await page.locator('body').innerText().catch(() => '(page gone)')
    const listed = await page.evaluate(async () => JSON.stringify(await (await fetch('/api/models')).json())).catch(() => '(no answer)')
    throw new Error(`The message box never became ready. /api/models: ${listed.slice(0, 1000)}\nThe page shows:\n${shown.slice(0, 2000)}`, { cause: error })
  }
}

/** Types a question and sends it with Enter, once the message box accepts one (models loaded, no answer running). */
export async function askThroughPage(page: Page, text: string): Promise<void> {
  await waitForComposer(page)
  await page.getByRole('textbox', { name: 'Message' }).fill(text)
  await page.getByRole('textbox', { name: 'Message' }).press('Enter')
}

/** Signs in through the page. */
export async function signInThroughPage(page: Page, url: string, account: { email: string; password: string }): Promise<void> {
  await page.goto(url)
  await page.getByLabel('Email').fill(account.email)
  await page.getByLabel('Password').fill(account.password)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
}

/** A password made at run time for a test account. */
export const newPassword = () => `pw-${crypto.randomUUID()}`

/** Saves a screenshot of the page under SCREENSHOT_DIR. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  const path = join(SCREENSHOT_DIR, `${name}.png`)
  await page.screenshot({ path, fullPage: false })
  return path
}

/** Opens the user menu (the avatar at the foot of the sidebar) and follows Settings or Admin, then the named section, if any. */
export async function openFromUserMenu(page: Page, name: 'Settings' | 'Admin', section?: string): Promise<void> {
  await page.getByRole('button', { name: 'User menu' }).click()
  await page.getByRole('group', { name: 'User menu' }).getByRole('link', { name, exact: true }).click()
  await page.getByRole('heading', { level: 1, name: name === 'Admin' ? 'Administration' : 'Settings' }).waitFor()
  if (section !== undefined) await page.getByRole('navigation', { name: /sections$/ }).getByRole('link', { name: section, exact: true }).click()
}

/** The entries of the user menu (opened, read, closed again). */
export async function userMenuEntries(page: Page): Promise<string[]> {
  await page.getByRole('button', { name: 'User menu' }).click()
  const menu = page.getByRole('group', { name: 'User menu' })
  const names = (await menu.locator('a, button').allInnerTexts()).map((text) => text.trim())
  await page.keyboard.press('Escape')
  await menu.waitFor({ state: 'detached' })
  return names
}

/** Names of controls that a screen reader could not name. */
export async function unnamedControls(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const missing: string[] = []
    for (const element of document.querySelectorAll<HTMLElement>('button, input, select, textarea, a[href]')) {
      if (element.closest('[hidden], [aria-hidden="true"]') !== null || element.getClientRects().length === 0) continue
      const labelled = element.getAttribute('aria-label') || element.getAttribute('aria-labelledby') ||
        (element as HTMLInputElement).labels?.length || element.textContent?.trim() || element.getAttribute('title')
      if (!labelled) missing.push(element.outerHTML.slice(0, 120))
    }
    return missing
  })
}
