/**
 * Long histories stay cheap: the sidebar loads chats a page (60) at a time as it scrolls, and a
 * long chat opens at its latest messages, adding earlier ones as the reader scrolls up.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Page } from 'playwright-core'
import { expectNothingUnsafe, newPassword, openWatchedPage, signUpThroughPage, startStage, type Stage, type Watched } from './harness.ts'

const TEST_TIMEOUT_MS = 90_000
const CHATS = 150
const MESSAGES = 200
let stage: Stage
let watched: Watched
let page: Page
let token: string
let longChatId: string

async function postJson(path: string, body: unknown): Promise<Response> {
  return fetch(`${stage.server.url}${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body),
  })
}

beforeAll(async () => {
  stage = await startStage()
  watched = await openWatchedPage(stage)
  page = watched.page
  const password = newPassword()
  await signUpThroughPage(page, stage.server.url, { name: 'Lister', email: 'lister@example.com', password })
  await page.getByRole('textbox', { name: 'Message' }).waitFor()
  // note: the page's own session stays in its HttpOnly cookie; the test signs in as an API client for its token.
  const signedIn = await fetch(`${stage.server.url}/api/v1/auths/signin`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'lister@example.com', password }),
  })
  token = ((await signedIn.json()) as { token: string }).token
  for (let i = 0; i < CHATS; i++) expect((await postJson('/api/v1/chats/new', { chat: { title: `Chat number ${i}` } })).status).toBe(200)
  const messages = Array.from({ length: MESSAGES }, (_, i) => ({ role: i % 2 === 0 ? 'user' : 'assistant', content: `Message number ${i}` }))
  const created = await postJson('/api/v1/chats/new', { chat: { title: 'The long one', messages } })
  longChatId = ((await created.json()) as { id: string }).id
}, TEST_TIMEOUT_MS)
afterAll(async () => {
  await stage?.stop()
})

describe('long lists', () => {
  test('the sidebar shows the first page, and scrolling down loads the rest, newest first', async () => {
    await page.reload()
    const links = page.locator('.chat-list a')
    await links.first().waitFor()
    expect(await links.first().textContent()).toBe('The long one')
    expect(await links.count()).toBeLessThanOrEqual(120)
    for (let i = 0; i < 20 && (await links.count()) < CHATS + 1; i++) {
      await page.locator('.chat-lists').evaluate((list) => list.scrollTo({ top: list.scrollHeight }))
      await Bun.sleep(150)
    }
    expect(await links.count()).toBe(CHATS + 1)
    expect(await links.last().textContent()).toBe('Chat number 0')
  }, TEST_TIMEOUT_MS)

  test('a long chat opens at its latest messages; scrolling up adds the earlier ones in order', async () => {
    await page.goto(`${stage.server.url}/c/${longChatId}`)
    await page.getByText(`Message number ${MESSAGES - 1}`, { exact: true }).waitFor()
    const shown = await page.locator('article.message').count()
    expect(shown).toBeLessThan(MESSAGES)
    for (let i = 0; i < 30 && !(await page.getByText('Message number 0', { exact: true }).count()); i++) {
      await page.locator('.messages').evaluate((list) => list.scrollTo({ top: 0 }))
      await Bun.sleep(150)
    }
    expect(await page.locator('article.message').count()).toBe(MESSAGES)
    const texts = await page.locator('article.message .markdown').allTextContents()
    expect(texts.map((text) => text.trim())).toEqual(Array.from({ length: MESSAGES }, (_, i) => `Message number ${i}`))
    expectNothingUnsafe(watched)
  }, TEST_TIMEOUT_MS)
})
