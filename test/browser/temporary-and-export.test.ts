/**
 * A temporary chat is never stored: it says so, its answers come through the stateless completions
 * path, and afterwards the database holds no more chats or messages than before and no byte of its
 * text (a marker scan of the data directory), and the chat list does not show it. Chats go out as
 * Open WebUI's JSON export (one chat or all) and as Markdown, and an export comes back in through
 * Settings with the same messages.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { countStoredRows } from '../helpers/binary.ts'
import {
  askThroughPage, expectNothingUnsafe, newPassword, openFromUserMenu, openWatchedPage, saveScreenshot, signUpThroughPage, startStage,
  unnamedControls, waitForComposer, type Stage, type Watched,
} from './harness.ts'

const TEST_TIMEOUT_MS = 90_000
let stage: Stage
let watched: Watched
let page: Page

/** Every file under `dir`, read whole. */
function filesUnder(dir: string): Buffer[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? filesUnder(path) : [readFileSync(path)]
  })
}

const storedCounts = () => ({ chats: countStoredRows(stage.dataDir, 'chat'), messages: countStoredRows(stage.dataDir, 'message') })
const apiJson = <T>(path: string, method = 'GET') => page.evaluate(async ([url, verb]) => (await fetch(url!, { method: verb })).json(), [path, method] as const) as Promise<T>

beforeAll(async () => {
  stage = await startStage()
  watched = await openWatchedPage(stage)
  page = watched.page
  await signUpThroughPage(page, stage.server.url, { name: 'Alan Turing', email: 'alan@example.com', password: newPassword() })
  await waitForComposer(page)
}, TEST_TIMEOUT_MS)
afterAll(async () => {
  await stage?.stop()
})

describe('temporary chat', () => {
  test.each(['light', 'dark'] as const)('says it is not stored, answers, and leaves nothing in the database (%s)', async (scheme) => {
    await page.emulateMedia({ colorScheme: scheme })
    await askThroughPage(page, `a stored chat in ${scheme}`)
    await page.locator('article.message.assistant:not([data-live])').last().waitFor()
    const before = storedCounts()
    const chatsBefore = await apiJson<unknown[]>('/api/v1/chats/')
    const marker = `temporary-marker-${crypto.randomUUID()}`

    await page.getByRole('link', { name: 'Temporary chat' }).click()
    await page.getByRole('note').filter({ hasText: 'Temporary chat: not stored on the server.' }).waitFor()
    expect(new URL(page.url()).pathname).toBe('/temporary')
    await askThroughPage(page, `first ${marker}`)
    await page.locator('article.message.assistant[data-live="done"]', { hasText: marker }).waitFor()
    await askThroughPage(page, `second ${marker}`)
    await page.locator('article.message.assistant[data-live="done"]', { hasText: `second ${marker}` }).waitFor()
    expect(await page.locator('article.message.assistant').last().locator('.stats').textContent()).toMatch(/tokens/)
    // note: the whole conversation goes with each question, as Open WebUI's temporary chat sends it.
    const asked = stage.ollama.requests.filter((request) => request.path === '/api/chat').at(-1)!.body as { messages: { content: string }[] }
    expect(asked.messages.map((message) => message.content)).toEqual([`first ${marker}`, expect.stringContaining(marker), `second ${marker}`])
    expect(await unnamedControls(page)).toEqual([])
    await saveScreenshot(page, `temporary-chat-${scheme}`)

    expect(storedCounts()).toEqual(before)
    expect(await apiJson<unknown[]>('/api/v1/chats/')).toEqual(chatsBefore)
    expect(await apiJson<unknown[]>(`/api/v1/chats/search?text=${marker}`)).toEqual([])
    expect(await page.locator('.chat-list a', { hasText: marker }).count()).toBe(0)
    for (const file of filesUnder(stage.dataDir)) expect(file.includes(marker)).toBe(false)

    // note: leaving ends it; coming back (here through Open WebUI's link) starts empty.
    await page.getByRole('link', { name: 'New chat' }).click()
    await page.goto(`${stage.server.url}/?temporary-chat=true`)
    await page.getByRole('heading', { name: 'A chat that leaves no trace' }).waitFor()
    expect(new URL(page.url()).pathname).toBe('/temporary')
    expect(await page.locator('article.message').count()).toBe(0)
    await page.getByRole('link', { name: 'New chat' }).click()
    expectNothingUnsafe(watched)
  }, TEST_TIMEOUT_MS)

  test('Stop ends a temporary answer and keeps what arrived, still storing nothing', async () => {
    const before = storedCounts()
    stage.ollama.setBehaviour({ chunkDelayMs: 150, chunkCount: 60 })
    try {
      await page.getByRole('link', { name: 'Temporary chat' }).click()
      await askThroughPage(page, 'a long temporary answer')
      await page.locator('article.message.assistant[data-live="streaming"]').waitFor()
      await page.getByRole('button', { name: 'Stop' }).click()
      await page.locator('article.message.assistant[data-live="stopped"]', { hasText: 'Stopped.' }).waitFor()
    } finally {
      stage.ollama.setBehaviour({ chunkDelayMs: 0, chunkCount: null })
    }
    expect(storedCounts()).toEqual(before)
    await page.getByRole('link', { name: 'New chat' }).click()
    expectNothingUnsafe(watched)
  }, TEST_TIMEOUT_MS)
})

describe('export and import', () => {
  test('one chat downloads as Open WebUI JSON and as Markdown', async () => {
    stage.ollama.setBehaviour({ chunkDelayMs: 0, replyChunks: ['An answer with **bold** and $x^2$.'] })
    await page.getByRole('link', { name: 'New chat' }).click()
    await askThroughPage(page, 'export this chat')
    await page.locator('article.message.assistant:not([data-live])', { hasText: 'An answer with' }).waitFor()
    stage.ollama.setBehaviour({ replyChunks: null })
    const chatId = new URL(page.url()).pathname.split('/').at(-1)!

    await page.getByRole('button', { name: 'Actions for export this chat' }).click()
    const [json] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download JSON' }).click()])
    expect(json.suggestedFilename()).toMatch(/^chat-export-\d+\.json$/)
    const exported = JSON.parse(readFileSync((await json.path())!, 'utf8')) as { id: string; title: string; chat: { history: { messages: Record<string, { content: string }> } } }[]
    expect(exported).toHaveLength(1)
    expect(exported[0]!.id).toBe(chatId)
    expect(Object.values(exported[0]!.chat.history.messages).map((message) => message.content).sort()).toEqual(['An answer with **bold** and $x^2$.', 'export this chat'])

    await page.getByRole('button', { name: 'Actions for export this chat' }).click()
    const [markdown] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download Markdown' }).click()])
    expect(markdown.suggestedFilename()).toBe('export-this-chat.md')
    expect(readFileSync((await markdown.path())!, 'utf8')).toBe('# export this chat\n\n### User\n\nexport this chat\n\n### Assistant (qwen2.5:0.5b)\n\nAn answer with **bold** and $x^2$.\n')
    expectNothingUnsafe(watched)
  }, TEST_TIMEOUT_MS)

  test('every chat exported from Settings comes back through import with the same messages', async () => {
    const contentsOf = async () => {
      const all = await apiJson<{ title: string; chat: { history: { messages: Record<string, { role: string; content: string }> } } }[]>('/api/v1/chats/all')
      return all.map((chat) => ({ title: chat.title, messages: Object.values(chat.chat.history.messages).map(({ role, content }) => `${role}: ${content}`).sort() }))
        .sort((a, b) => a.title.localeCompare(b.title))
    }
    const original = await contentsOf()
    expect(original.length).toBeGreaterThanOrEqual(3)

    await openFromUserMenu(page, 'Settings', 'Export and import')
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export all chats' }).click()])
    await page.getByRole('status').filter({ hasText: `Exported ${original.length} chats.` }).waitFor()
    const file = (await download.path())!

    await apiJson('/api/v1/chats/', 'DELETE')
    expect(await contentsOf()).toEqual([])
    await page.getByLabel('Import chats').setInputFiles(file)
    await page.getByRole('status').filter({ hasText: `Imported ${original.length} chats.` }).waitFor()
    expect(await contentsOf()).toEqual(original)
    await page.locator('.chat-list a', { hasText: 'export this chat' }).click()
    await page.locator('article.message.assistant .math .katex').waitFor()

    await openFromUserMenu(page, 'Settings', 'Export and import')
    await page.getByLabel('Import chats').setInputFiles({ name: 'not-json.json', mimeType: 'application/json', buffer: Buffer.from('<html>not json') })
    await page.getByRole('alert').filter({ hasText: 'not JSON' }).waitFor()
    await page.getByLabel('Import chats').setInputFiles({ name: 'wrong.json', mimeType: 'application/json', buffer: Buffer.from('[1, 2]') })
    await page.getByRole('alert').filter({ hasText: 'no chats in the export format' }).waitFor()
    await page.getByLabel('Import chats').setInputFiles({ name: 'bad-chat.json', mimeType: 'application/json', buffer: Buffer.from('[{"chat": {"history": "nope"}}]') })
    await page.getByRole('alert').waitFor()
    expect(await contentsOf()).toEqual(original)
    expectNothingUnsafe(watched)
  }, TEST_TIMEOUT_MS)
})
