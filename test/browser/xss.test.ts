/**
 * Untrusted content is inert in the browser: the XSS corpus, streamed by the model in pieces that
 * split tags across chunks and sent as the user's own message, never runs script, opens a dialog,
 * sets a global, clobbers one, or makes a request to another origin; no CSP violation is reported
 * (the sanitiser stops it before the CSP would have to). Links that stay are http(s) only and open
 * with rel="noopener noreferrer".
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Page } from 'playwright-core'
import { askThroughPage, expectNothingUnsafe, newPassword, openWatchedPage, signUpThroughPage, startStage, type Stage, type Watched } from './harness.ts'
import { splitIntoChunks, xssDocument } from './xss-corpus.ts'

const TEST_TIMEOUT_MS = 60_000
let stage: Stage
let watched: Watched
let page: Page

async function expectInert(target: Watched): Promise<void> {
  await Bun.sleep(300) // note: gives an onerror/onload handler time to fire, had one survived
  expect(await target.page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss === undefined)).toBe(true)
  expect(await target.page.evaluate(() => document.querySelectorAll('.messages script, .messages iframe, .messages object, .messages embed, .messages style, .messages form, .messages [onerror], .messages [onload]').length)).toBe(0)
  // note: the page's own icons (in its buttons) and KaTeX's drawing of math are the only SVG and styles a message may hold.
  expect(await target.page.evaluate(() => [...document.querySelectorAll('.messages svg, .messages [style]')].filter((node) => node.closest('button, .katex') === null).length)).toBe(0)
  const links = await target.page.locator('.messages a[href]').evaluateAll((anchors) => anchors.map((anchor) => ({ href: anchor.getAttribute('href'), rel: anchor.getAttribute('rel') })))
  for (const link of links) {
    expect(link.href).toMatch(/^(https?:|mailto:|#|\/(?!\/))/i)
    expect(link.rel).toBe('noopener noreferrer')
  }
  expectNothingUnsafe(target)
}

beforeAll(async () => {
  stage = await startStage()
  watched = await openWatchedPage(stage)
  page = watched.page
  await signUpThroughPage(page, stage.server.url, { name: 'Mallory', email: 'mallory@example.com', password: newPassword() })
  await page.getByRole('textbox', { name: 'Message' }).waitFor()
}, TEST_TIMEOUT_MS)
afterAll(async () => {
  await stage?.stop()
})

describe('untrusted content in the browser', () => {
  test.each([1, 3, 7, 64])('the corpus streamed by the model in %i-character chunks is inert while streaming and after', async (size) => {
    await page.getByRole('link', { name: 'New chat' }).click()
    stage.ollama.setBehaviour({ chunkDelayMs: size === 1 ? 0 : 5, replyChunks: [...splitIntoChunks(xssDocument + '\n\nEND-OF-CORPUS', size)] })
    await askThroughPage(page, `corpus in chunks of ${size}`)
    await page.locator('article.message.assistant .markdown', { hasText: 'END-OF-CORPUS' }).last().waitFor({ timeout: 30_000 })
    await page.locator('article[data-live]').waitFor({ state: 'detached' })
    // note: the payloads are shown as text, not dropped silently.
    expect(await page.locator('article.message.assistant').last().textContent()).toContain('<script>window.__xss = "fence"</script>')
    await expectInert(watched)
  }, TEST_TIMEOUT_MS)

  test('the corpus as the user\'s own message is inert, also after a reload and in the sidebar title', async () => {
    await page.getByRole('link', { name: 'New chat' }).click()
    stage.ollama.setBehaviour({ chunkDelayMs: 0, replyChunks: ['ok'] })
    await askThroughPage(page, `<img src=x onerror="window.__xss='title'">\n\n${xssDocument}`)
    await page.locator('article.message.assistant .markdown', { hasText: 'ok' }).last().waitFor()
    await expectInert(watched)
    await page.reload()
    await page.locator('article.message.user').last().waitFor()
    await expectInert(watched)
    // note: a hostile title is plain text in the sidebar and the header.
    expect(await page.locator('.chat-list a').first().textContent()).toContain('<img src=x')
  }, TEST_TIMEOUT_MS)

  test('hostile citations (a saved chat\'s sources: names and passages from the corpus) are plain text in the list and the dialog', async () => {
    const hostileName = '<img src=x onerror="window.__xss=\'source\'">.pdf'
    const sources = [
      { source: { id: crypto.randomUUID(), name: hostileName, type: 'file' }, document: [xssDocument], metadata: [{ name: hostileName }], distances: [0.9] },
      { source: { id: crypto.randomUUID(), name: '<svg onload="window.__xss=1">', type: 'file' }, document: ['<script>window.__xss=2</script>'], metadata: [], distances: [0.5] },
    ]
    const chatId = await page.evaluate(async (sources) => {
      const question = crypto.randomUUID()
      const answer = crypto.randomUUID()
      const history = {
        currentId: answer,
        messages: {
          [question]: { id: question, parentId: null, childrenIds: [answer], role: 'user', content: 'Cite it', timestamp: 1 },
          [answer]: { id: answer, parentId: question, childrenIds: [], role: 'assistant', content: 'As written [1] and [2], not [3] `[1]`.', timestamp: 2, done: true, sources },
        },
      }
      const response = await fetch('/api/v1/chats/new', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chat: { title: 'Hostile citations', history } }) })
      return (await response.json() as { id: string }).id
    }, sources)
    await page.goto(`${stage.server.url}/c/${chatId}`)
    const answer = page.locator('article.message.assistant').last()
    await answer.getByRole('list', { name: 'Sources' }).waitFor()
    // note: markers name only the sources there are, and none inside code.
    expect(await answer.locator('button.citation-marker').count()).toBe(2)
    expect(await answer.locator('code').innerText()).toBe('[1]')
    await answer.getByRole('button', { name: 'Citation 1' }).click()
    const dialog = page.getByRole('dialog')
    await dialog.waitFor()
    expect(await dialog.getByRole('heading').innerText()).toContain(hostileName)
    expect(await dialog.locator('blockquote').innerText()).toContain('<img src=x')
    expect(await dialog.locator('img, script, svg:not(button svg), iframe, [onerror], [onload]').count()).toBe(0)
    await expectInert(watched)
    await dialog.getByRole('button', { name: 'Close' }).click()
    await answer.getByRole('button', { name: /^Source 2:/ }).click()
    expect(await page.getByRole('dialog').locator('blockquote').innerText()).toBe('<script>window.__xss=2</script>')
    expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss === undefined)).toBe(true)
    await page.keyboard.press('Escape')
    expectNothingUnsafe(watched)
  }, TEST_TIMEOUT_MS)

  test('a hostile chat title set by rename is plain text', async () => {
    const hostile = '<img src=x onerror="window.__xss=\'rename\'">'
    await page.getByRole('button', { name: /^Actions for/ }).first().click()
    await page.getByRole('button', { name: 'Rename', exact: true }).click()
    await page.getByLabel('New title').fill(hostile)
    await page.getByLabel('New title').press('Enter')
    await page.locator('.chat-list a', { hasText: hostile }).first().waitFor()
    await expectInert(watched)
  }, TEST_TIMEOUT_MS)
})
