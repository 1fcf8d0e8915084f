/**
 * Accounts in the browser, against the compiled binary: the first sign-up becomes admin, a second
 * waits on the pending page until the admin approves it in the admin screen, then chats; wrong
 * passwords and rate limiting are explained; settings change the password, make an API key and
 * sign out everywhere.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { askThroughPage, expectNothingUnsafe, newPassword, openFromUserMenu, openWatchedPage, signInThroughPage, signUpThroughPage, startStage, type Stage, userMenuEntries } from './harness.ts'

let stage: Stage
const TEST_TIMEOUT_MS = 60_000
const admin = { name: 'Ada Admin', email: 'ada@example.com', password: newPassword() }
const member = { name: 'Bob Member', email: 'bob@example.com', password: newPassword() }

beforeAll(async () => {
  stage = await startStage({ SIGNIN_RATE_LIMIT: '4/180s', ENABLE_API_KEYS: 'true' })
}, 60_000)
afterAll(async () => {
  await stage?.stop()
})

describe('accounts in the browser', () => {
  test('the first account becomes admin, the second waits for approval, is approved in the admin screen, then chats', async () => {
    const first = await openWatchedPage(stage)
    await signUpThroughPage(first.page, stage.server.url, admin)
    await first.page.getByLabel('Message').waitFor()
    expect(await userMenuEntries(first.page)).toContain('Admin')

    const second = await openWatchedPage(stage)
    await signUpThroughPage(second.page, stage.server.url, member)
    await second.page.getByRole('heading', { name: 'Waiting for approval' }).waitFor()
    expect(await second.page.getByText('An administrator must approve it').isVisible()).toBe(true)

    await openFromUserMenu(first.page, 'Admin')
    const row = first.page.locator(`tr[data-user="${member.email}"]`)
    await row.getByRole('button', { name: `Approve ${member.name}` }).click()
    await row.getByRole('button', { name: `Approve ${member.name}` }).waitFor({ state: 'detached' })
    await expect(row.getByLabel(`Role of ${member.email}`).inputValue()).resolves.toBe('user')
    await first.page.getByRole('link', { name: 'Ollama', exact: true }).click()
    await first.page.getByText('reachable, Ollama').waitFor()

    await second.page.getByRole('button', { name: 'Check again' }).click()
    await askThroughPage(second.page, 'approved and chatting')
    await second.page.locator('article.message.assistant .markdown', { hasText: 'approved and chatting' }).waitFor()
    expect(await userMenuEntries(second.page)).not.toContain('Admin')
    expectNothingUnsafe(first)
    expectNothingUnsafe(second)
    await first.context.close()
    await second.context.close()
  }, TEST_TIMEOUT_MS)

  test('a wrong password says so, and too many attempts show how long to wait', async () => {
    const { page, context } = await openWatchedPage(stage)
    const target = { email: 'carol@example.com', password: newPassword() }
    await signInThroughPage(page, stage.server.url, target)
    await page.getByRole('alert').filter({ hasText: 'incorrect' }).waitFor()
    let waitShown = false
    for (let attempt = 0; attempt < 6 && !waitShown; attempt++) {
      await page.getByRole('button', { name: 'Sign in', exact: true }).click()
      waitShown = await page.getByRole('alert').filter({ hasText: /wait \d+ seconds/ }).waitFor({ timeout: 2_000 }).then(() => true, () => false)
    }
    expect(waitShown).toBe(true)
    expect(await page.getByRole('button', { name: 'Sign in', exact: true }).isDisabled()).toBe(true)
    await context.close()
  }, TEST_TIMEOUT_MS)

  test('settings: an API key is shown once with a copy button, listed, deleted; the password changes; sign out everywhere', async () => {
    const watched = await openWatchedPage(stage)
    const { page, context } = watched
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stage.server.url })
    await signInThroughPage(page, stage.server.url, admin)
    await openFromUserMenu(page, 'Settings', 'API keys')

    await page.getByLabel('Key name').fill('laptop')
    await page.getByRole('button', { name: 'Create key' }).click()
    const shown = await page.locator('code.secret').textContent()
    expect(shown).toMatch(/^sk-/)
    await page.getByRole('button', { name: 'Copy key' }).click()
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(shown!)
    await page.getByRole('cell', { name: 'laptop', exact: true }).waitFor()
    await page.getByRole('button', { name: 'Delete key laptop' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click()
    await page.getByText('No keys yet.').waitFor()
    const keyCheck = await fetch(`${stage.server.url}/api/v1/auths/`, { headers: { authorization: `Bearer ${shown}` } })
    expect(keyCheck.status).toBe(401)

    const changed = newPassword()
    await page.getByRole('link', { name: 'Password', exact: true }).click()
    await page.getByLabel('Current password').fill(admin.password)
    await page.getByLabel('New password', { exact: true }).fill(changed)
    await page.getByLabel('Repeat the new password').fill(changed)
    await page.getByRole('button', { name: 'Change password' }).click()
    await page.getByText('Password changed').waitFor()
    admin.password = changed

    await page.getByRole('link', { name: 'Account', exact: true }).click()
    await page.getByRole('button', { name: 'Sign out everywhere' }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Sign out everywhere' }).click()
    await page.getByRole('heading', { name: /Sign in to/ }).waitFor()
    await page.goto(stage.server.url)
    await page.getByRole('heading', { name: /Sign in to/ }).waitFor()
    expectNothingUnsafe(watched)
    await context.close()
  }, TEST_TIMEOUT_MS)
})
