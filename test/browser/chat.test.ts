/**
 * Chatting in the browser, against the compiled binary and the Ollama stand-in: streaming token by
 * token, Stop, reload and resume, a second tab watching live, search, rename, pin, archive, delete,
 * regenerate, edit-and-resend, copy, and an inline error with retry.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { BrowserContext, Page } from 'playwright-core'
import { askThroughPage, expectNothingUnsafe, newPassword, openWatchedPage, signUpThroughPage, startStage, type Stage, type Watched } from './harness.ts'

const TEST_TIMEOUT_MS = 60_000
let stage: Stage
let first: Watched
let context: BrowserContext
let page: Page

const words = (count: number, prefix = 'word') => Array.from({ length: count }, (_, i) => `${i === 0 ? '' : ' '}${prefix}${i}`)
const lastAnswer = (target: Page = page) => target.locator('article.message.assistant .markdown').last()

const ask = (text: string, target: Page = page) => askThroughPage(target, text)

async function newChat(target: Page = page): Promise<void> {
  await target.getByRole('link', { name: 'New chat' }).click()
  await target.getByRole('heading', { name: 'How can I help?' }).waitFor()
}

beforeAll(async () => {
  stage = await startStage()
  first = await openWatchedPage(stage)
  context = first.context
  page = first.page
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stage.server.url })
  await signUpThroughPage(page, stage.server.url, { name: 'Chatty', email: 'chatty@example.com', password: newPassword() })
  await page.getByLabel('Message').waitFor()
}, 60_000)
afterAll(async () => {
  await stage?.stop()
})

describe('chat in the browser', () => {
  test('an answer streams token by token, rendered as Markdown', async () => {
    stage.ollama.setBehaviour({ chunkDelayMs: 120, replyChunks: ['Here ', 'is ', '**bold** ', 'and ', 'a ', 'list:\n\n', '- one\n', '- two\n', '- three'] })
    // note: the page itself records each text the streaming answer shows, so a slow test loop can't miss any.
    await page.evaluate(() => {
      const seen = new Set<string>()
      ;(window as unknown as { __seen: Set<string> }).__seen = seen
      new MutationObserver(() => {
        const live = document.querySelector('article[data-live="streaming"] .markdown')
        if (live?.textContent) seen.add(live.textContent)
      }).observe(document.body, { subtree: true, childList: true, characterData: true })
    })
    await ask('Show me Markdown')
    await lastAnswer().locator('li', { hasText: 'three' }).waitFor()
    expect(await lastAnswer().locator('strong').textContent()).toBe('bold')
    const seen = await page.evaluate(() => [...(window as unknown as { __seen: Set<string> }).__seen])
    expect(seen.length).toBeGreaterThanOrEqual(4)
    expect(seen[0]!.length).toBeLessThan(seen.at(-1)!.length)
    expect(await page.locator('aside, nav').getByRole('link', { name: 'Show me Markdown' }).count()).toBe(1)
  }, TEST_TIMEOUT_MS)

  test('Stop keeps the partial answer, also after a reload', async () => {
    await newChat()
    stage.ollama.setBehaviour({ chunkDelayMs: 150, replyChunks: words(60, 'stop') })
    await ask('Count slowly')
    await lastAnswer().filter({ hasText: 'stop3' }).waitFor()
    await page.getByRole('button', { name: 'Stop' }).click()
    await page.locator('article[data-live]').waitFor({ state: 'detached' })
    await page.getByRole('button', { name: 'Send' }).waitFor()
    const partial = (await lastAnswer().textContent()) ?? ''
    expect(partial).toContain('stop3')
    expect(partial).not.toContain('stop59')
    await page.reload()
    await lastAnswer().filter({ hasText: 'stop3' }).waitFor()
    expect((await lastAnswer().textContent()) ?? '').not.toContain('stop59')
  }, TEST_TIMEOUT_MS)

  test('Esc stops the answer too', async () => {
    await newChat()
    stage.ollama.setBehaviour({ chunkDelayMs: 150, replyChunks: words(60, 'esc') })
    await ask('Count again')
    await lastAnswer().filter({ hasText: 'esc2' }).waitFor()
    await page.keyboard.press('Escape')
    await page.locator('article[data-live]').waitFor({ state: 'detached' })
    expect((await lastAnswer().textContent()) ?? '').not.toContain('esc59')
  }, TEST_TIMEOUT_MS)

  test('a reload mid-answer resumes it, each piece once, and the history is there', async () => {
    await newChat()
    const chunks = words(25, 'resume')
    stage.ollama.setBehaviour({ chunkDelayMs: 100, replyChunks: chunks })
    await ask('Tell me a long story')
    await lastAnswer().filter({ hasText: 'resume4' }).waitFor()
    await page.reload()
    await lastAnswer().filter({ hasText: 'resume24' }).waitFor({ timeout: 20_000 })
    await page.locator('article[data-live="streaming"]').waitFor({ state: 'detached' })
    expect((await lastAnswer().textContent())?.trim()).toBe(chunks.join(''))
    expect(await page.locator('article.message.user', { hasText: 'Tell me a long story' }).count()).toBe(1)
  }, TEST_TIMEOUT_MS)

  test('a second tab of the same user sees the answer stream live', async () => {
    await newChat()
    stage.ollama.setBehaviour({ chunkDelayMs: 0, replyChunks: null })
    await ask('shared conversation opener')
    await lastAnswer().filter({ hasText: 'opener' }).waitFor()
    const second = await openWatchedPage(stage, { context })
    await second.page.goto(page.url())
    await lastAnswer(second.page).filter({ hasText: 'opener' }).waitFor()

    stage.ollama.setBehaviour({ chunkDelayMs: 150, replyChunks: words(20, 'live') })
    await ask('now stream to both')
    const watching = second.page.locator('article[data-live="streaming"] .markdown')
    await watching.filter({ hasText: 'live2' }).waitFor()
    expect((await watching.textContent()) ?? '').not.toContain('live19')
    await lastAnswer(second.page).filter({ hasText: 'live19' }).waitFor()
    await second.page.locator('article.message.user', { hasText: 'now stream to both' }).waitFor()
    expectNothingUnsafe(second)
    await second.page.close()
  }, TEST_TIMEOUT_MS)

  test('search finds a chat by a word in a message, not only its title', async () => {
    await newChat()
    stage.ollama.setBehaviour({ chunkDelayMs: 0, replyChunks: null })
    await ask('an ordinary opener')
    await lastAnswer().filter({ hasText: 'opener' }).waitFor()
    await ask('the quokka sings at dawn')
    await lastAnswer().filter({ hasText: 'dawn' }).waitFor()
    await page.getByLabel('Search chats').fill('quokka')
    const results = page.locator('.chat-list a')
    await page.waitForFunction(() => document.querySelectorAll('.chat-list a').length === 1)
    expect(await results.filter({ hasText: 'an ordinary opener' }).count()).toBe(1)
    await page.getByLabel('Search chats').fill('')
    await results.filter({ hasText: 'Show me Markdown' }).waitFor()
  }, TEST_TIMEOUT_MS)

  test('rename, pin, archive and delete (after confirming) from the sidebar', async () => {
    const item = (title: string) => page.locator('.chat-item', { has: page.getByRole('link', { name: title, exact: true }) })
    await page.getByRole('button', { name: 'Actions for an ordinary opener' }).click()
    await page.getByRole('button', { name: 'Rename', exact: true }).click()
    await page.getByLabel('New title').fill('Quokka facts')
    await page.getByLabel('New title').press('Enter')
    await item('Quokka facts').waitFor()
    await page.reload()
    await item('Quokka facts').waitFor()

    await page.getByRole('button', { name: 'Actions for Quokka facts' }).first().click()
    await page.getByRole('button', { name: 'Pin', exact: true }).click()
    await page.getByRole('heading', { name: 'Pinned' }).waitFor()

    await page.getByRole('button', { name: 'Actions for Count again' }).click()
    await page.getByRole('button', { name: 'Archive', exact: true }).click()
    await item('Count again').waitFor({ state: 'detached' })
    await page.getByRole('button', { name: 'Archived' }).click()
    await item('Count again').waitFor()
    await page.getByRole('button', { name: 'Chats', exact: true }).click()

    await page.getByRole('button', { name: 'Actions for Count slowly' }).click()
    await page.getByRole('button', { name: 'Delete', exact: true }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel' }).click()
    await item('Count slowly').waitFor()
    await page.getByRole('button', { name: 'Actions for Count slowly' }).click()
    await page.getByRole('button', { name: 'Delete', exact: true }).click()
    await page.getByRole('dialog').getByRole('button', { name: 'Delete', exact: true }).click()
    await item('Count slowly').waitFor({ state: 'detached' })
    await page.reload()
    await item('Quokka facts').first().waitFor()
    expect(await item('Count slowly').count()).toBe(0)
  }, TEST_TIMEOUT_MS)

  test('regenerate replaces the last answer; edit-and-resend asks the edited question', async () => {
    await newChat()
    stage.ollama.setBehaviour({ chunkDelayMs: 0, replyChunks: ['first ', 'answer'] })
    await ask('regenerate me')
    await lastAnswer().filter({ hasText: 'first answer' }).waitFor()
    stage.ollama.setBehaviour({ replyChunks: ['second ', 'answer'] })
    await page.getByRole('button', { name: 'Regenerate', exact: true }).click()
    await lastAnswer().filter({ hasText: 'second answer' }).waitFor()
    expect(await page.locator('article.message.assistant').count()).toBe(1)
    expect(await page.locator('article.message.user').count()).toBe(1)

    stage.ollama.setBehaviour({ replyChunks: null })
    await page.locator('article.message.user').getByRole('button', { name: 'Edit', exact: true }).click()
    await page.getByLabel('Edit message').fill('an edited question')
    await page.getByRole('button', { name: 'Save and send' }).click()
    await lastAnswer().filter({ hasText: 'an edited question' }).waitFor()
    expect(await page.locator('article.message.user').count()).toBe(1)
    const lastChat = stage.ollama.requests.filter((request) => request.path === '/api/chat').at(-1)!.body as { messages: { role: string; content: string }[] }
    expect(lastChat.messages.map((message) => message.content)).toEqual(['an edited question'])
  }, TEST_TIMEOUT_MS)

  test('copy puts a message and a code block on the clipboard', async () => {
    await newChat()
    stage.ollama.setBehaviour({ chunkDelayMs: 0, replyChunks: ['Run:\n\n```bash\n', 'echo hi\n', '```\n'] })
    await ask('code please')
    await lastAnswer().locator('pre').waitFor()
    await page.locator('.code-block').last().getByRole('button', { name: 'Copy code' }).click()
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('echo hi')
    await page.locator('article.message.assistant').last().getByRole('button', { name: 'Copy message' }).click()
    expect(await page.evaluate(() => navigator.clipboard.readText())).toContain('```bash')
    expect(await lastAnswer().locator('.hljs-built_in, .hljs-keyword').count()).toBeGreaterThan(0)
  }, TEST_TIMEOUT_MS)

  test('a failing model shows an inline error with retry, and the question is kept', async () => {
    await newChat()
    stage.ollama.setBehaviour({ chunkDelayMs: 0, replyChunks: null, fault: { kind: 'status', status: 500, error: 'model crashed' } })
    await ask('will this fail')
    await page.getByRole('alert').filter({ hasText: /./ }).first().waitFor()
    expect(await page.locator('article.message.user', { hasText: 'will this fail' }).count()).toBe(1)
    stage.ollama.setBehaviour({ fault: null })
    await page.getByRole('button', { name: 'Retry', exact: true }).click()
    await lastAnswer().filter({ hasText: 'will this fail' }).waitFor()
    expect(await page.getByRole('button', { name: 'Retry', exact: true }).count()).toBe(0)
    expectNothingUnsafe(first)
  }, TEST_TIMEOUT_MS)
})
