/**
 * The first hour and the admin's day in the browser, against the compiled binary: the first
 * account on a server bound beyond loopback (setup token asked for up front), an empty Ollama
 * (the chat page offers the admin a pull; a user is told to ask), pulling with live progress,
 * cancelling, a failed pull, model details and deletion, connection states (off, broken model
 * list), pending accounts with a badge, adding an account, sessions in Settings. Screens are
 * saved in light, dark and at phone width under artifacts/screenshots for a person to look at.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { expectNothingUnsafe, newPassword, openFromUserMenu, openWatchedPage, saveScreenshot, signInThroughPage, signUpThroughPage, startStage, type Stage } from './harness.ts'

const TEST_TIMEOUT_MS = 120_000
const PHONE = { width: 390, height: 800 }
const admin = { name: 'Ada Admin', email: 'ada@example.com', password: newPassword() }
const member = { name: 'Bob Member', email: 'bob@example.com', password: newPassword() }
/** The user menu's button at the foot of the sidebar: there once a page is signed in (at phone width it is behind the menu). */
const adminLink = (page: Page) => page.locator('.user-menu button.user-button')

/** Opens Settings or Admin at a section through the user menu, opening the phone's menu first when the sidebar is hidden. */
async function openSection(page: Page, name: 'Settings' | 'Admin', section: string): Promise<void> {
  if (!(await adminLink(page).isVisible())) await page.getByRole('button', { name: 'Open menu' }).click()
  await openFromUserMenu(page, name, section)
}

describe('the first account on a server bound beyond loopback', () => {
  let stage: Stage
  beforeAll(async () => {
    const started = await startStage({ HOST: '0.0.0.0' })
    // note: the server listens on every interface; the browser reaches it on loopback.
    stage = { ...started, server: { ...started.server, url: started.server.url.replace('0.0.0.0', '127.0.0.1') } }
  }, TEST_TIMEOUT_MS)
  afterAll(async () => {
    await stage?.stop()
  })

  test.each([['light', null], ['dark', null], ['light', PHONE]] as const)('says up front that a setup token is needed and where it is (%s, %p)', async (scheme, viewport) => {
    const watched = await openWatchedPage(stage, { colorScheme: scheme, ...(viewport === null ? {} : { viewport }) })
    const { page, context } = watched
    await page.goto(stage.server.url)
    await page.getByRole('heading', { name: /Create your .* account/ }).waitFor()
    expect(await page.getByLabel('Setup token').isVisible()).toBe(true)
    expect(await page.getByText('docker exec <container> cat /data/.setup_token').isVisible()).toBe(true)
    expect(await page.getByText('At least 8 characters').isVisible()).toBe(true)
    expect(await page.getByText('Already have an account?').count()).toBe(0)
    await saveScreenshot(page, `first-run-token-${scheme}${viewport === null ? '' : '-phone'}`)
    expectNothingUnsafe(watched)
    await context.close()
  }, TEST_TIMEOUT_MS)

  test('a wrong token is refused; the token from the data directory makes the admin', async () => {
    const watched = await openWatchedPage(stage)
    const { page, context } = watched
    await page.goto(stage.server.url)
    await page.getByLabel('Name').fill(admin.name)
    await page.getByLabel('Email').fill(admin.email)
    await page.getByLabel('Password').fill(admin.password)
    await page.getByLabel('Setup token').fill('not-the-token')
    await page.getByRole('button', { name: 'Create account' }).click()
    await page.getByRole('alert').waitFor()
    await page.getByLabel('Setup token').fill(readFileSync(join(stage.dataDir, 'data', '.setup_token'), 'utf8').trim())
    await page.getByRole('button', { name: 'Create account' }).click()
    await adminLink(page).waitFor()
    expectNothingUnsafe(watched)
    await context.close()
  }, TEST_TIMEOUT_MS)
})

describe('an empty Ollama and the admin\'s day', () => {
  let stage: Stage
  let empty: FakeOllama
  beforeAll(async () => {
    empty = await startFakeOllama({ models: [] })
    stage = await startStage({ OLLAMA_BASE_URL: empty.url })
    const { page, context } = await openWatchedPage(stage)
    await signUpThroughPage(page, stage.server.url, admin)
    await adminLink(page).waitFor()
    await context.close()
  }, TEST_TIMEOUT_MS)
  afterAll(async () => {
    await stage?.stop()
    await empty?.stop()
  })

  const signedInAdmin = async (scheme: 'light' | 'dark' = 'light', viewport?: { width: number; height: number }) => {
    const watched = await openWatchedPage(stage, { colorScheme: scheme, ...(viewport === undefined ? {} : { viewport }) })
    // note: these tests build on each other (a model pulled in one is deleted in another), so a wait
    // that runs out on a busy machine would fail the rest: they wait longer than Playwright's 30 s.
    watched.page.setDefaultTimeout(60_000)
    await signInThroughPage(watched.page, stage.server.url, admin)
    await adminLink(watched.page).waitFor({ state: 'attached' })
    return watched
  }
  const goToAdmin = async (page: Page, section: 'Ollama' | 'Users' = 'Ollama') => {
    await openSection(page, 'Admin', section)
    await page.getByRole('heading', { name: section === 'Ollama' ? 'Models' : 'Waiting for approval' }).waitFor()
  }

  test('the chat page offers the admin a pull; progress shows, a cancel stops it, a failure says why, a success makes the model usable', async () => {
    const watched = await signedInAdmin()
    const { page, context } = watched
    const offer = page.getByRole('region', { name: 'No models yet' })
    await offer.waitFor()
    await saveScreenshot(page, 'no-models-admin-light')

    // note: a second tab of the same admin follows the pull through the socket's model:pull frames.
    const otherTab = await context.newPage()
    await otherTab.goto(stage.server.url + '/admin/ollama')
    await otherTab.getByRole('heading', { name: 'Models' }).waitFor()
    empty.setBehaviour({ chunkDelayMs: 400 })
    await offer.getByLabel('Model to pull').fill('slow-model:1b')
    await offer.getByRole('button', { name: 'Pull' }).click()
    await page.getByRole('progressbar', { name: 'Progress of slow-model:1b' }).waitFor()
    await page.getByText(/Downloading \d+%/).waitFor()
    await saveScreenshot(page, 'pull-progress-light')
    await otherTab.getByRole('progressbar', { name: 'Progress of slow-model:1b' }).waitFor()
    expect(await otherTab.getByRole('button', { name: 'Cancel' }).count()).toBe(0)
    await page.getByRole('button', { name: 'Cancel' }).click()
    await page.getByText('The pull of slow-model:1b was cancelled.').waitFor()
    const cancelled = empty.requests.findLast((request) => request.path === '/api/pull')!
    expect(await cancelled.settled).toBe('aborted')
    expect(empty.models()).toEqual([])

    empty.setBehaviour({ chunkDelayMs: 0, fault: { kind: 'error_line', afterChunks: 3, error: 'no space left on device' } })
    await offer.getByLabel('Model to pull').fill('big-model:70b')
    await offer.getByRole('button', { name: 'Pull' }).click()
    await page.getByRole('alert').filter({ hasText: 'Pulling big-model:70b failed' }).waitFor()
    expect(await page.getByRole('alert').filter({ hasText: 'no space left on device' }).count()).toBe(1)
    await saveScreenshot(page, 'pull-failed-light')

    empty.setBehaviour({ fault: null })
    await offer.getByLabel('Model to pull').fill('tiny-model:1b')
    await offer.getByRole('button', { name: 'Pull' }).click()
    await page.getByRole('textbox', { name: 'Message' }).waitFor()
    await page.locator('form.composer[data-ready]').waitFor()
    expect(await page.getByLabel('Model').inputValue()).toBe('tiny-model:1b')
    expectNothingUnsafe(watched)
    await context.close()
  }, TEST_TIMEOUT_MS)

  test('a user on a server without models is told to ask the administrator', async () => {
    const watched = await openWatchedPage(stage)
    const { page, context } = watched
    const lonely = await startFakeOllama({ models: [] })
    try {
      const adminPage = await signedInAdmin()
      await goToAdmin(adminPage.page, 'Users')
      const form = adminPage.page.getByRole('form', { name: 'Add an account' })
      await form.getByLabel('Name', { exact: true }).fill(member.name)
      await form.getByLabel('Email').fill(member.email)
      await form.getByLabel('First password').fill(member.password)
      await form.getByRole('button', { name: 'Add account' }).click()
      await adminPage.page.getByText(`Added ${member.email}`).waitFor()
      await adminPage.page.locator(`tr[data-user="${member.email}"]`).waitFor()
      // note: the user's view of "no models" is the same whatever the reason; here, every connection turned off.
      await goToAdmin(adminPage.page)
      await adminPage.page.getByRole('button', { name: `Turn off ${empty.url}` }).click()
      await adminPage.page.getByText('turned off').waitFor()
      await saveScreenshot(adminPage.page, 'admin-connection-off-light')

      await signInThroughPage(page, stage.server.url, member)
      await page.getByText('No models are available to you yet. Ask your administrator to add one or to grant you access.').waitFor()
      expect(await page.getByRole('region', { name: 'No models yet' }).count()).toBe(0)
      await saveScreenshot(page, 'no-models-user-light')

      await adminPage.page.getByRole('button', { name: `Turn on ${empty.url}` }).click()
      await adminPage.page.getByText(/reachable, Ollama 0\.12\.6, 1 model/).waitFor()
      await adminPage.context.close()
    } finally {
      await lonely.stop()
    }
    expectNothingUnsafe(watched)
    await context.close()
  }, TEST_TIMEOUT_MS)

  test.each([['light', undefined], ['dark', undefined], ['dark', PHONE]] as const)('admin screens (%s, %p): details, a broken model list, connections, delete', async (scheme, viewport) => {
    const watched = await signedInAdmin(scheme, viewport)
    const { page, context } = watched
    await goToAdmin(page)
    const row = page.locator('tr[data-model="tiny-model:1b"]')
    await row.getByRole('button', { name: 'Details of tiny-model:1b' }).click()
    const details = page.locator('dl[aria-label="Details of tiny-model:1b"]')
    await details.getByText('32,768 tokens').waitFor()
    expect(await details.innerText()).toContain('Q4_K_M')
    expect(await details.innerText()).toContain('llama')

    empty.setBehaviour({ tagsBody: { models: 'broken' } })
    await page.getByRole('button', { name: 'Test again' }).click()
    await page.getByText(/but its model list is broken/).waitFor()
    empty.setBehaviour({ tagsBody: undefined })
    await page.locator('#models-heading').scrollIntoViewIfNeeded()
    await saveScreenshot(page, `admin-models-${scheme}${viewport === undefined ? '' : '-phone'}`)
    await page.locator('#connections-heading').scrollIntoViewIfNeeded()
    await saveScreenshot(page, `admin-connections-${scheme}${viewport === undefined ? '' : '-phone'}`)
    await goToAdmin(page, 'Users')
    await page.locator('#pending-heading').scrollIntoViewIfNeeded()
    await saveScreenshot(page, `admin-accounts-${scheme}${viewport === undefined ? '' : '-phone'}`)
    await goToAdmin(page)

    const tested = page.getByRole('form', { name: 'Add a connection' })
    await tested.getByLabel('Add a connection (URL)').fill('http://127.0.0.1:1')
    await tested.getByRole('button', { name: 'Test' }).click()
    await tested.getByRole('alert').waitFor()
    await page.getByRole('button', { name: 'Test again' }).click()
    await page.getByText(/reachable, Ollama 0\.12\.6, 1 model/).waitFor()
    expectNothingUnsafe(watched)
    await context.close()
  }, TEST_TIMEOUT_MS)

  test('a pending account shows as a badge on every page and is approved from the admin page', async () => {
    const newcomer = { name: 'Cleo New', email: 'cleo@example.com', password: newPassword() }
    const pending = await openWatchedPage(stage)
    await signUpThroughPage(pending.page, stage.server.url, newcomer)
    await pending.page.getByRole('heading', { name: 'Waiting for approval' }).waitFor()

    const phone = await signedInAdmin('light', PHONE)
    await phone.page.locator('button.open-sidebar .badge', { hasText: '1' }).waitFor()
    await saveScreenshot(phone.page, 'pending-badge-light-phone')
    await phone.context.close()
    const watched = await signedInAdmin()
    const { page, context } = watched
    const badge = page.getByRole('status', { name: '1 account waiting for approval' })
    await badge.waitFor()
    await openSection(page, 'Settings', 'Appearance')
    expect(await badge.isVisible()).toBe(true)
    await goToAdmin(page, 'Users')
    await page.locator(`[data-pending="${newcomer.email}"]`).getByRole('button', { name: `Approve ${newcomer.name}` }).click()
    await badge.waitFor({ state: 'detached' })
    await page.waitForFunction((email) => document.querySelector<HTMLSelectElement>(`tr[data-user="${email}"] select`)?.value === 'user', newcomer.email)
    expectNothingUnsafe(watched)
    await context.close()
    await pending.context.close()
  }, TEST_TIMEOUT_MS)

  test('the admin deletes a model after confirming', async () => {
    const watched = await signedInAdmin()
    const { page, context } = watched
    await goToAdmin(page)
    await page.getByRole('button', { name: 'Delete tiny-model:1b' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click()
    await page.getByText('No models yet: pull one above.').waitFor()
    expect(empty.models()).toEqual([])
    expectNothingUnsafe(watched)
    await context.close()
  }, TEST_TIMEOUT_MS)

  test.each([['dark', undefined], ['dark', PHONE], ['light', PHONE]] as const)('with no model again, the chat page offers the pull (%s, %p)', async (scheme, viewport) => {
    const watched = await signedInAdmin(scheme, viewport)
    const { page, context } = watched
    await page.getByRole('region', { name: 'No models yet' }).waitFor()
    await saveScreenshot(page, `no-models-admin-${scheme}${viewport === undefined ? '' : '-phone'}`)
    expectNothingUnsafe(watched)
    await context.close()
  }, TEST_TIMEOUT_MS)

  test.each([['light', undefined], ['dark', undefined], ['light', PHONE]] as const)('settings (%s, %p): API keys off says how to turn them on; another session is listed and signed out', async (scheme, viewport) => {
    const other = await signedInAdmin()
    const watched = await signedInAdmin(scheme, viewport)
    const { page, context } = watched
    await openSection(page, 'Settings', 'API keys')
    await page.getByText('ENABLE_API_KEYS=true').waitFor()
    await page.getByRole('navigation', { name: /sections$/ }).getByRole('link', { name: 'Sessions', exact: true }).click()
    await page.getByRole('heading', { name: 'Where you are signed in' }).scrollIntoViewIfNeeded()
    expect(await page.getByText('this one').count()).toBe(1)
    expect(await page.getByText('Chrome on Linux').count()).toBeGreaterThan(1)
    await saveScreenshot(page, `settings-sessions-${scheme}${viewport === undefined ? '' : '-phone'}`)
    const rowsBefore = await page.locator('tr[data-session]').count()
    await page.locator('tr[data-session]').filter({ hasNotText: 'this one' }).first().getByRole('button', { name: /^Sign out / }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Sign out' }).click()
    await expect(page.locator('tr[data-session]').count()).resolves.toBeLessThanOrEqual(rowsBefore)
    await page.waitForFunction((before) => document.querySelectorAll('tr[data-session]').length === before - 1, rowsBefore)
    expectNothingUnsafe(watched)
    await context.close()
    await other.context.close()
  }, TEST_TIMEOUT_MS)
})
