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
/** The latest messages a chat opens with (FIRST_WINDOW in static/chat-view.tsx). */
const FIRST_WINDOW = 30
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

  test('on a slow device a long chat still opens at its latest window, each message at its full height', async () => {
    // note: messages skipped by content-visibility were squeezed by the list's flex column to ~1 px, so the
    // list measured "nothing to scroll" and added earlier messages on every open (30 became 90, opened
    // mid-list at scrollTop 869 of 3687), a geometry where the 600 px scroll threshold spanned ~35
    // messages. The throttling (4x) stands for the slow device of the one full-suite failure (all 200).
    const cdp = await page.context().newCDPSession(page)
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 })
    try {
      await page.goto(`${stage.server.url}/c/${longChatId}`)
      await page.getByText(`Message number ${MESSAGES - 1}`, { exact: true }).waitFor()
      const list = await page.locator('.messages').evaluate(async (element) => {
        await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))
        const heights = [...element.querySelectorAll<HTMLElement>('article.message')].map((message) => message.offsetHeight)
        return { heights, scrollable: element.scrollHeight > element.clientHeight, fromBottom: element.scrollHeight - element.scrollTop - element.clientHeight }
      })
      expect(list.heights.length).toBe(FIRST_WINDOW)
      expect(Math.min(...list.heights)).toBeGreaterThan(40)
      expect(list.scrollable).toBe(true)
      expect(list.fromBottom).toBeLessThan(2)
    } finally {
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 })
      await cdp.detach()
    }
  }, TEST_TIMEOUT_MS)
})
