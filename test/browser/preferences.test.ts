/**
 * What the browser remembers and what ends a session: theme and model choices survive a reload,
 * Shift+Enter makes a new line, an admin deletes an account, and signing out everywhere in one
 * browser sends another browser of the same user back to sign-in.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { expectNothingUnsafe, newPassword, openFromUserMenu, openWatchedPage, signInThroughPage, signUpThroughPage, startStage, type Stage } from './harness.ts'

const TEST_TIMEOUT_MS = 60_000
let stage: Stage
const admin = { name: 'Pref Admin', email: 'prefs@example.com', password: newPassword() }

beforeAll(async () => {
  stage = await startStage({ DEFAULT_USER_ROLE: 'user' })
  const { page, context } = await openWatchedPage(stage)
  await signUpThroughPage(page, stage.server.url, admin)
  await page.getByRole('textbox', { name: 'Message' }).waitFor()
  await context.close()
}, 60_000)
afterAll(async () => {
  await stage?.stop()
})

describe('preferences and sessions', () => {
  test('the theme and the picked model are remembered across a reload', async () => {
    const watched = await openWatchedPage(stage)
    const { page, context } = watched
    await signInThroughPage(page, stage.server.url, admin)
    await page.locator('form.composer[data-ready]').waitFor()
    expect(await page.getByLabel('Model').inputValue()).toBe('qwen2.5:0.5b')
    await page.getByLabel('Model').selectOption('llama3.2:1b')
    await openFromUserMenu(page, 'Settings')
    await page.getByLabel('Dark').check()
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark')
    await page.reload()
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark')
    await page.getByRole('link', { name: 'New chat' }).click()
    await page.locator('form.composer[data-ready]').waitFor()
    expect(await page.getByLabel('Model').inputValue()).toBe('llama3.2:1b')
    await page.getByRole('textbox', { name: 'Message' }).fill('first line')
    await page.getByRole('textbox', { name: 'Message' }).press('Shift+Enter')
    await page.getByRole('textbox', { name: 'Message' }).pressSequentially('second line')
    expect(await page.getByRole('textbox', { name: 'Message' }).inputValue()).toBe('first line\nsecond line')
    await page.getByRole('textbox', { name: 'Message' }).press('Enter')
    await page.locator('article.message.assistant', { hasText: 'second line' }).waitFor()
    const asked = stage.ollama.requests.filter((request) => request.path === '/api/chat').at(-1)!.body as { model: string }
    expect(asked.model).toBe('llama3.2:1b')
    expectNothingUnsafe(watched)
    await context.close()
  }, TEST_TIMEOUT_MS)

  test('an admin deletes an account after confirming', async () => {
    const member = { name: 'Short Lived', email: 'short@example.com', password: newPassword() }
    const other = await openWatchedPage(stage)
    await signUpThroughPage(other.page, stage.server.url, member)
    await other.page.getByRole('textbox', { name: 'Message' }).waitFor()
    await other.context.close()

    const { page, context } = await openWatchedPage(stage)
    await signInThroughPage(page, stage.server.url, admin)
    await openFromUserMenu(page, 'Admin')
    await page.getByRole('button', { name: `Delete ${member.email}` }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click()
    await page.locator(`tr[data-user="${member.email}"]`).waitFor({ state: 'detached' })
    const signIn = await fetch(`${stage.server.url}/api/v1/auths/signin`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: member.email, password: member.password }),
    })
    expect(signIn.status).toBe(400)
    await context.close()
  }, TEST_TIMEOUT_MS)

  test('signing out everywhere in one browser sends another browser of the same user to sign-in', async () => {
    const here = await openWatchedPage(stage)
    const elsewhere = await openWatchedPage(stage)
    await signInThroughPage(here.page, stage.server.url, admin)
    await signInThroughPage(elsewhere.page, stage.server.url, admin)
    await elsewhere.page.locator('form.composer[data-ready]').waitFor()
    await openFromUserMenu(here.page, 'Settings', 'Account')
    await here.page.getByRole('button', { name: 'Sign out everywhere' }).click()
    await here.page.getByRole('dialog').getByRole('button', { name: 'Sign out everywhere' }).click()
    await here.page.getByRole('heading', { name: /Sign in to/ }).waitFor()
    await elsewhere.page.getByRole('heading', { name: /Sign in to/ }).waitFor({ timeout: 20_000 })
    await here.context.close()
    await elsewhere.context.close()
  }, TEST_TIMEOUT_MS)
})
