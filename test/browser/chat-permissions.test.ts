/**
 * The page offers a chat control only with its permission, as Open WebUI's page reads
 * `user.permissions.chat`: with the defaults taking chat.edit, chat.temporary, chat.export,
 * chat.delete and chat.file_upload away, a user sees no Edit, Temporary chat, Download, Delete,
 * Attach files or Export all chats; the admin still sees them all.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { newPassword, openFromUserMenu, openWatchedPage, askThroughPage, signUpThroughPage, startStage, waitForComposer, type Stage } from './harness.ts'

const TEST_TIMEOUT_MS = 90_000
let stage: Stage

beforeAll(async () => {
  stage = await startStage({ DEFAULT_USER_ROLE: 'user' })
}, TEST_TIMEOUT_MS)
afterAll(async () => {
  await stage?.stop()
})

const post = async (path: string, body: unknown, token?: string) => {
  const res = await fetch(`${stage.server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, body: JSON.stringify(body) })
  return res.json() as Promise<any>
}

test('a user without the chat permissions is offered none of those controls; the admin is', async () => {
  const adminPassword = newPassword()
  const admin = await post('/api/v1/auths/signup', { name: 'Root', email: 'root@example.com', password: adminPassword })
  const defaults = await (await fetch(`${stage.server.url}/api/v1/users/default/permissions`, { headers: { authorization: `Bearer ${admin.token}` } })).json() as any
  await post('/api/v1/users/default/permissions', { ...defaults, chat: { ...defaults.chat, edit: false, temporary: false, export: false, delete: false, file_upload: false } }, admin.token)

  for (const [who, restricted] of [['ada@example.com', true], ['root@example.com', false]] as const) {
    const { page } = await openWatchedPage(stage)
    if (restricted) await signUpThroughPage(page, stage.server.url, { name: 'Ada', email: who, password: newPassword() })
    else {
      await page.goto(stage.server.url)
      await page.getByLabel('Email').fill(who)
      await page.getByLabel('Password').fill(adminPassword)
      await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    }
    await waitForComposer(page)
    await askThroughPage(page, `Quokka facts for ${who}`)
    await page.locator('article.message.assistant:not([data-live])').last().waitFor()
    const count = (name: string) => page.getByRole('button', { name, exact: true }).count()
    expect(await count('Edit')).toBe(restricted ? 0 : 1)
    expect(await count('Attach files')).toBe(restricted ? 0 : 1)
    expect(await page.getByRole('link', { name: 'Temporary chat' }).count()).toBe(restricted ? 0 : 1)
    await page.getByRole('button', { name: `Actions for Quokka facts for ${who}` }).click()
    const menu = page.getByRole('group', { name: `Actions for Quokka facts for ${who}` })
    await menu.getByRole('button', { name: 'Rename' }).waitFor()
    const entries = (await menu.locator('button').allInnerTexts()).map((text) => text.trim())
    for (const entry of ['Download JSON', 'Download Markdown', 'Delete']) expect(entries.includes(entry)).toBe(!restricted)
    await page.keyboard.press('Escape')
    await openFromUserMenu(page, 'Settings', 'Export and import')
    await page.getByText('Import chats').waitFor()
    expect(await count('Export all chats')).toBe(restricted ? 0 : 1)
    await page.context().close()
  }
}, TEST_TIMEOUT_MS)
