/**
 * The workspace's controls, in light, dark and phone widths: the user menu, Settings and Admin as
 * linkable sections, the keyboard shortcuts and their `?` list, the phone's menu button and its
 * message box (not focused on a touch screen). Every new control has an accessible name, no CSP
 * violation is reported, and screenshots are saved under artifacts/screenshots for a person to look at.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import {
  askThroughPage, expectNothingUnsafe, newPassword, openFromUserMenu, openWatchedPage, saveScreenshot, signInThroughPage, signUpThroughPage,
  startStage, unnamedControls, userMenuEntries, waitForComposer, type Stage,
} from './harness.ts'

const TEST_TIMEOUT_MS = 90_000
let stage: Stage
const admin = { name: 'Ada Lovelace', email: 'ada@example.com', password: newPassword() }
const member = { name: 'Charles Babbage', email: 'charles@example.com', password: newPassword() }

beforeAll(async () => {
  stage = await startStage({ ENABLE_API_KEYS: 'true', DEFAULT_USER_ROLE: 'user' })
  for (const account of [admin, member]) {
    const { page, context } = await openWatchedPage(stage)
    await signUpThroughPage(page, stage.server.url, account)
    await waitForComposer(page)
    await context.close()
  }
}, TEST_TIMEOUT_MS)
afterAll(async () => {
  await stage?.stop()
})

describe.each(['light', 'dark'] as const)('sections and menus in %s', (scheme) => {
  test('the user menu leads to Settings and Admin; each section has its own address, and Back walks between them', async () => {
    const watched = await openWatchedPage(stage, { colorScheme: scheme })
    const { page, context } = watched
    await signInThroughPage(page, stage.server.url, admin)
    await waitForComposer(page)
    await page.getByRole('button', { name: 'User menu' }).click()
    const menu = page.getByRole('group', { name: 'User menu' })
    expect(await menu.locator('a, button').allInnerTexts()).toEqual(['Settings', 'Admin', 'Keyboard shortcuts', 'Sign out'])
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Settings')
    expect(await unnamedControls(page)).toEqual([])
    await saveScreenshot(page, `user-menu-${scheme}`)
    await page.keyboard.press('Escape')
    await menu.waitFor({ state: 'detached' })
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('User menu')

    await openFromUserMenu(page, 'Settings', 'API keys')
    expect(new URL(page.url()).pathname).toBe('/settings/api-keys')
    await page.getByRole('heading', { name: 'API keys', level: 2 }).waitFor()
    await page.getByRole('link', { name: 'Export and import', exact: true }).click()
    await page.getByRole('heading', { name: 'Export and import', level: 2 }).waitFor()
    expect(await page.getByRole('link', { name: 'Export and import' }).getAttribute('aria-current')).toBe('page')
    expect(await unnamedControls(page)).toEqual([])
    await saveScreenshot(page, `settings-export-${scheme}`)
    await page.goBack()
    await page.getByRole('heading', { name: 'API keys', level: 2 }).waitFor()

    // note: a section's address opens it directly; an unknown one shows the first section.
    await page.goto(`${stage.server.url}/settings/account`)
    await page.getByRole('heading', { name: 'Account', level: 2 }).waitFor()
    await page.goto(`${stage.server.url}/settings/no-such-section`)
    await page.getByRole('heading', { name: 'Appearance', level: 2 }).waitFor()
    await page.goto(`${stage.server.url}/admin/ollama`)
    await page.getByText('reachable, Ollama').waitFor()
    expect(await unnamedControls(page)).toEqual([])
    await saveScreenshot(page, `admin-ollama-${scheme}`)
    await openFromUserMenu(page, 'Admin', 'Users')
    await page.locator(`tr[data-user="${member.email}"]`).waitFor()
    expectNothingUnsafe(watched)
    await context.close()
  }, TEST_TIMEOUT_MS)

  test('a member sees no Admin entry, and the admin address tells them it is not theirs', async () => {
    const watched = await openWatchedPage(stage, { colorScheme: scheme })
    const { page, context } = watched
    await signInThroughPage(page, stage.server.url, member)
    await waitForComposer(page)
    expect(await userMenuEntries(page)).toEqual(['Settings', 'Keyboard shortcuts', 'Sign out'])
    await page.goto(`${stage.server.url}/admin/users`)
    await page.getByRole('alert').filter({ hasText: 'for administrators' }).waitFor()
    await page.getByRole('button', { name: 'User menu' }).click()
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByRole('heading', { name: /Sign in to/ }).waitFor()
    expectNothingUnsafe(watched)
    await context.close()
  }, TEST_TIMEOUT_MS)

  test('keyboard shortcuts: ? lists them; new chat, search, focus the message box, copy the last answer, stop', async () => {
    const watched = await openWatchedPage(stage, { colorScheme: scheme })
    const { page, context } = watched
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stage.server.url })
    await signInThroughPage(page, stage.server.url, admin)
    await askThroughPage(page, `shortcut answer in ${scheme}`)
    await page.locator('article.message.assistant:not([data-live])', { hasText: `shortcut answer in ${scheme}` }).waitFor()

    await page.getByRole('button', { name: `Actions for shortcut answer in ${scheme}` }).click()
    const actions = page.getByRole('group', { name: `Actions for shortcut answer in ${scheme}` })
    expect(await actions.getByRole('button').allInnerTexts()).toEqual(['Rename', 'Pin', 'Archive', 'Download JSON', 'Download Markdown', 'Delete'])
    expect(await unnamedControls(page)).toEqual([])
    await saveScreenshot(page, `chat-menu-${scheme}`)
    await page.keyboard.press('Escape')
    await actions.waitFor({ state: 'detached' })

    await page.locator('body').click({ position: { x: 700, y: 300 } })
    await page.keyboard.press('?')
    const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' })
    await dialog.waitFor()
    for (const label of ['New chat', 'Search chats', 'Stop the answer', 'Focus the message box', 'Copy the last answer', 'Show these shortcuts']) {
      await dialog.getByRole('rowheader', { name: label }).waitFor()
    }
    expect(await unnamedControls(page)).toEqual([])
    await saveScreenshot(page, `shortcuts-${scheme}`)
    await page.keyboard.press('Escape')
    await dialog.waitFor({ state: 'hidden' })

    await page.keyboard.press('Control+Shift+C')
    await page.getByRole('status').filter({ hasText: 'Copied the last answer.' }).waitFor()
    expect(await page.evaluate(() => navigator.clipboard.readText())).toContain(`shortcut answer in ${scheme}`)

    await page.keyboard.press('Control+k')
    await page.waitForFunction(() => document.activeElement?.id === 'chat-search')
    await page.keyboard.press('Shift+Escape')
    await page.waitForFunction(() => document.activeElement?.id === 'message')

    await page.keyboard.press('Control+Shift+O')
    await page.waitForURL((url) => url.pathname === '/')
    await page.getByRole('heading', { name: 'New chat', level: 1 }).waitFor()

    stage.ollama.setBehaviour({ chunkDelayMs: 150, chunkCount: 60 })
    try {
      await askThroughPage(page, 'a long answer to stop')
      await page.locator('article[data-live="streaming"]').waitFor()
      await page.locator('body').click({ position: { x: 700, y: 300 } })
      await page.keyboard.press('Escape')
      await page.locator('article.message.assistant', { hasText: 'Stopped.' }).waitFor()
    } finally {
      stage.ollama.setBehaviour({ chunkDelayMs: 0, chunkCount: null })
    }
    expectNothingUnsafe(watched)
    await context.close()
  }, TEST_TIMEOUT_MS)

  test('phone width: a large menu button, sections as tabs, and a message box that does not pop the keyboard up', async () => {
    const context = await stage.browser.newContext({
      viewport: { width: 390, height: 780 }, colorScheme: scheme, reducedMotion: 'reduce', hasTouch: true, isMobile: true,
    })
    const watched = await openWatchedPage(stage, { context })
    const { page } = watched
    await signInThroughPage(page, stage.server.url, admin)
    await waitForComposer(page)
    expect(await page.evaluate(() => matchMedia('(pointer: coarse)').matches)).toBe(true)
    expect(await page.evaluate(() => document.activeElement?.id)).not.toBe('message')
    const box = (await page.getByRole('button', { name: 'Open menu' }).boundingBox())!
    expect(box.width).toBeGreaterThanOrEqual(44)
    expect(box.height).toBeGreaterThanOrEqual(44)
    await page.getByRole('button', { name: 'Open menu' }).click()
    await page.getByRole('button', { name: 'User menu' }).click()
    await saveScreenshot(page, `phone-user-menu-${scheme}`)
    await page.getByRole('group', { name: 'User menu' }).getByRole('link', { name: 'Settings' }).click()
    await page.getByRole('heading', { name: 'Settings', level: 1 }).waitFor()
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
    expect(await unnamedControls(page)).toEqual([])
    await saveScreenshot(page, `phone-settings-${scheme}`)
    await page.goto(`${stage.server.url}/temporary`)
    await page.getByRole('note').filter({ hasText: 'not stored on the server' }).waitFor()
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true)
    await saveScreenshot(page, `phone-temporary-${scheme}`)
    expectNothingUnsafe(watched)
    await context.close()
  }, TEST_TIMEOUT_MS)
})
