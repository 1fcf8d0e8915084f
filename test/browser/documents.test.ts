/**
 * Documents and knowledge bases in the browser, against the compiled binary and the Ollama
 * stand-in (whose embeddings are a hashed bag of words, so the right passage is known): a DOCX made
 * here is uploaded through the paperclip, read by the server, attached, asked about; the streamed
 * answer shows numbered citations, its `[1]` marker opens the cited passage with the file's name.
 * The citations come with the answer's end (chat:done), before the chat is read again from the
 * server (those reads are held back here), in every tab of the user and in a tab that resumed.
 * A knowledge base is picked with `#` (filtered as one types, keyboard and mouse), shown as a
 * removable chip, and cited the same way. Passages are user data: markup in them shows as text.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Page, Route } from 'playwright-core'
import { defaultFakeModels } from '../fakes/ollama-replies.ts'
import { embeddingModel } from '../fakes/ollama.ts'
import { makeDocx } from '../helpers/make-documents.ts'
import { expectNothingUnsafe, newPassword, openWatchedPage, signUpThroughPage, startStage, waitForComposer, type Stage, type Watched } from './harness.ts'

const TEST_TIMEOUT_MS = 90_000
const MODEL = 'llama3.2:1b'
const LIGHTHOUSE = 'The Zanzibarite lantern burns whale oil and is polished every morning at dawn <img src=x onerror="window.__pwned=1">.'
const ORCHARD = 'The Quokkafjord orchard grows quinces that ripen in late October.'

let stage: Stage
let watched: Watched
let page: Page

const lastSystemPrompt = () => {
  const sent = stage.ollama.requests.filter((request) => request.path === '/api/chat').at(-1)!.body as { messages: { role: string; content: string }[] }
  return sent.messages.filter((message) => message.role === 'system').map((message) => message.content).join('\n')
}

/**
 * Holds back the page's reads of a whole chat (GET /api/v1/chats/{id}) until the returned function
 * is called, so what shows meanwhile came over the socket alone.
 */
async function holdChatReads(target: Page): Promise<() => Promise<void>> {
  const held: Route[] = []
  const matches = (url: URL) => /^\/api\/v1\/chats\/[0-9a-f-]{36}$/.test(url.pathname)
  const hold = (route: Route) => {
    if (route.request().method() === 'GET') held.push(route)
    else void route.fallback()
  }
  await target.route(matches, hold)
  return async () => {
    await target.unroute(matches, hold)
    for (const route of held.splice(0)) await route.fallback()
  }
}

/** Calls the API from the page, with its session cookie (same origin). */
function callFromPage<T>(method: string, path: string, body?: unknown): Promise<T> {
  return page.evaluate(async ({ method, path, body }) => {
    const response = await fetch(path, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
    return await response.json()
  }, { method, path, body }) as Promise<T>
}

beforeAll(async () => {
  stage = await startStage({ USER_PERMISSIONS_WORKSPACE_KNOWLEDGE_ACCESS: 'true', CHUNK_SIZE: '300', CHUNK_OVERLAP: '30', RAG_TOP_K: '1' }, undefined, [...defaultFakeModels, embeddingModel('nomic-embed-text:latest')])
  watched = await openWatchedPage(stage)
  page = watched.page
  await signUpThroughPage(page, stage.server.url, { name: 'Reader', email: 'reader@example.com', password: newPassword() })
  await page.getByLabel('Message').waitFor()
}, TEST_TIMEOUT_MS)
afterAll(async () => {
  await stage?.stop()
})

describe('documents and knowledge in the browser', () => {
  test('a DOCX uploaded with the paperclip is read, asked about, and the answer\'s citation opens the right passage', async () => {
    stage.ollama.setBehaviour({ replyChunks: ['The lantern ', 'burns whale oil [1].'] })
    await waitForComposer(page)
    await page.getByLabel('Model').selectOption(MODEL)
    const docx = Buffer.from(makeDocx(['Annual report of the lighthouse society.', LIGHTHOUSE]))
    await page.locator('input[type=file]').setInputFiles({ name: 'lighthouse.docx', mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', buffer: docx })
    const tray = page.getByRole('list', { name: 'Attached files' })
    await tray.getByText('lighthouse.docx').waitFor()
    await page.locator('.attachment-tray li[data-kind="file"][data-status="ready"]').waitFor()
    await page.getByRole('textbox', { name: 'Message' }).fill('What oil does the lantern burn, and when is it polished?')
    let release = await holdChatReads(page)
    await page.getByRole('textbox', { name: 'Message' }).press('Enter')
    const answer = page.locator('article.message.assistant').last()
    // note: the chat is not read again yet: the citations came with the answer's end.
    await page.locator('article[data-live="done"]').getByRole('list', { name: 'Sources' }).waitFor()
    await answer.locator('.markdown', { hasText: 'The lantern burns whale oil' }).waitFor()
    expect(lastSystemPrompt()).toContain('burns whale oil')
    await answer.getByRole('button', { name: 'Citation 1' }).click()
    const dialog = page.getByRole('dialog', { name: /lighthouse\.docx/ })
    await dialog.waitFor()
    // note: the stored answer then takes the live one's place, and the open dialog stays.
    await release()
    await page.locator('article[data-live]').waitFor({ state: 'detached' })
    await page.locator('article.message.user').last().getByText('lighthouse.docx').waitFor()
    await dialog.waitFor()
    const passage = await dialog.locator('blockquote').first().innerText()
    expect(passage).toContain('burns whale oil and is polished every morning')
    expect(passage).toContain('<img src=x onerror="window.__pwned=1">')
    expect(await dialog.locator('img').count()).toBe(0)
    await dialog.getByRole('button', { name: 'Close' }).click()
    await dialog.waitFor({ state: 'hidden' })
    // note: the marker that opened it went with the streamed answer, so focus goes to the message box.
    await page.waitForFunction(() => document.activeElement?.id === 'message')
    await answer.getByRole('button', { name: 'Source 1: lighthouse.docx' }).click()
    await page.getByRole('dialog', { name: /lighthouse\.docx/ }).waitFor()
    await page.keyboard.press('Escape')
    await page.getByRole('dialog').waitFor({ state: 'hidden' })
    await page.waitForFunction(() => document.activeElement?.getAttribute('aria-label') === 'Source 1: lighthouse.docx')
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined()

    // note: a regenerate asks again with the question's document: the new version cites it too,
    // at once, in this tab and in a second tab of the same user watching the chat.
    const second = await openWatchedPage(stage, { context: watched.context })
    await second.page.goto(page.url())
    await second.page.locator('article.message.assistant').last().getByRole('list', { name: 'Sources' }).waitFor()
    stage.ollama.setBehaviour({ replyChunks: ['Whale oil, polished at dawn [1].'] })
    await waitForComposer(page)
    release = await holdChatReads(page)
    const releaseSecond = await holdChatReads(second.page)
    await answer.getByRole('button', { name: 'Regenerate' }).click()
    for (const tab of [page, second.page]) {
      const regenerated = tab.locator('article[data-live="done"]', { hasText: 'polished at dawn' })
      await regenerated.getByRole('list', { name: 'Sources' }).waitFor()
      await regenerated.getByRole('button', { name: 'Citation 1' }).click()
      const cited = tab.getByRole('dialog', { name: /lighthouse\.docx/ })
      expect(await cited.locator('blockquote').first().innerText()).toContain('burns whale oil')
      await tab.keyboard.press('Escape')
      await cited.waitFor({ state: 'hidden' })
    }
    await release()
    await releaseSecond()
    const again = page.locator('article.message.assistant', { hasText: 'polished at dawn' })
    await again.getByRole('list', { name: 'Sources' }).waitFor()
    await again.getByText('2/2').waitFor()
    await second.page.locator('article.message.assistant', { hasText: 'polished at dawn' }).getByText('2/2').waitFor()
    expect(lastSystemPrompt()).toContain('burns whale oil')
    expectNothingUnsafe(watched)
    expectNothingUnsafe(second)
    await second.page.close()
  }, TEST_TIMEOUT_MS)

  test('a knowledge base picked with # is attached as a removable chip, and its answer cites the right file', async () => {
    stage.ollama.setBehaviour({ replyChunks: ['Quinces ripen in late October [1].'] })
    const uploaded = await page.evaluate(async (text) => {
      const form = new FormData()
      form.append('file', new File([text], 'orchard.md', { type: 'text/markdown' }))
      return await (await fetch('/api/v1/files/', { method: 'POST', body: form })).json() as { id: string }
    }, `# Orchard\n\n${ORCHARD}\n`)
    for (let attempt = 0; attempt < 200; attempt++) {
      const file = await callFromPage<{ data?: { status?: string } }>('GET', `/api/v1/files/${uploaded.id}`)
      if (file.data?.status === 'completed') break
      await Bun.sleep(50)
    }
    const knowledge = await callFromPage<{ id: string }>('POST', '/api/v1/knowledge/create', { name: 'Orchard papers', description: 'Meetings' })
    await callFromPage('POST', `/api/v1/knowledge/${knowledge.id}/file/add`, { file_id: uploaded.id })
    await callFromPage('POST', '/api/v1/knowledge/create', { name: 'Harbour papers', description: '' })

    await page.getByRole('link', { name: 'New chat' }).first().click()
    await waitForComposer(page)
    const box = page.getByRole('textbox', { name: 'Message' })
    const picker = page.getByRole('listbox', { name: 'Knowledge and documents' })
    await box.fill('#')
    await picker.waitFor()
    const everything = await picker.getByRole('option').allInnerTexts()
    expect(everything.some((text) => text.includes('Orchard papers'))).toBe(true)
    expect(everything.some((text) => text.includes('Harbour papers'))).toBe(true)
    expect(everything.some((text) => text.includes('lighthouse.docx'))).toBe(true)
    await box.press('Escape')
    await picker.waitFor({ state: 'detached' })
    await page.waitForFunction(() => document.activeElement?.id === 'message')
    await box.fill('#zzzz')
    await picker.waitFor({ state: 'detached' })
    // note: the keyboard: filter to the harbour, choose it with Enter, then remove its chip.
    await box.fill('#harb')
    await picker.getByRole('option', { name: /Harbour papers/ }).waitFor()
    expect(await picker.getByRole('option').count()).toBe(1)
    // note: a screen reader hears the highlighted option: the box names it as its active descendant.
    const highlighted = await box.getAttribute('aria-activedescendant')
    expect(await page.locator(`#${highlighted}`).innerText()).toContain('Harbour papers')
    expect(await box.getAttribute('aria-controls')).toBe(await picker.getAttribute('id'))
    await box.press('Enter')
    const chips = page.getByRole('list', { name: 'Attached files' })
    await chips.getByText('Harbour papers').waitFor()
    expect(await box.inputValue()).toBe('')
    await chips.getByRole('button', { name: 'Remove Harbour papers' }).click()
    await chips.waitFor({ state: 'detached' })
    // note: the mouse: filter to the orchard and click it.
    await box.fill('When do the quinces ripen? #orch')
    await picker.getByRole('option', { name: /Orchard papers/ }).click()
    await chips.getByText('Orchard papers').waitFor()
    expect(await box.inputValue()).toBe('When do the quinces ripen? ')
    await box.press('Enter')

    const answer = page.locator('article.message.assistant').last()
    await answer.getByRole('list', { name: 'Sources' }).waitFor()
    await answer.locator('.markdown', { hasText: 'Quinces ripen in late October' }).waitFor()
    expect(lastSystemPrompt()).toContain('ripen in late October')
    await page.locator('article.message.user').last().getByText('Orchard papers').waitFor()
    await answer.getByRole('button', { name: 'Citation 1' }).click()
    const dialog = page.getByRole('dialog', { name: /orchard\.md/ })
    await dialog.waitFor()
    expect(await dialog.locator('blockquote').first().innerText()).toContain('quinces that ripen in late October')
    await dialog.getByRole('button', { name: 'Close' }).click()
    expectNothingUnsafe(watched)
  }, TEST_TIMEOUT_MS)

  test('a tab reloaded while the answer streams resumes it and shows its citations at its end', async () => {
    const chunks = [...Array.from({ length: 30 }, (_, at) => `word${at} `), 'Late October [1].']
    stage.ollama.setBehaviour({ chunkDelayMs: 100, replyChunks: chunks })
    await waitForComposer(page)
    await page.locator('article.message.assistant').last().getByRole('button', { name: 'Regenerate' }).click()
    await page.locator('article[data-live="streaming"]', { hasText: 'word3' }).waitFor()
    await page.reload()
    await page.locator('article.message.user').last().getByText('Orchard papers').waitFor()
    const release = await holdChatReads(page)
    const resumed = page.locator('article[data-live="done"]', { hasText: 'Late October' })
    await resumed.getByRole('list', { name: 'Sources' }).waitFor()
    await resumed.getByRole('button', { name: 'Citation 1' }).click()
    expect(await page.getByRole('dialog', { name: /orchard\.md/ }).locator('blockquote').first().innerText()).toContain('ripen in late October')
    await page.keyboard.press('Escape')
    await release()
    await page.locator('article[data-live]').waitFor({ state: 'detached' })
    await page.locator('article.message.assistant', { hasText: 'Late October' }).getByRole('list', { name: 'Sources' }).waitFor()
    stage.ollama.setBehaviour({ chunkDelayMs: 0 })
    expectNothingUnsafe(watched)
  }, TEST_TIMEOUT_MS)
})
