/**
 * A server restarted in the middle of an answer: the open chat says it is reconnecting, then shows
 * the chat as the server stored it (the question and the part of the answer checkpointed before
 * the stop), without a reload, instead of going blank.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startBinary, type RunningBinary } from '../helpers/binary.ts'
import { askThroughPage, expectNothingUnsafe, newPassword, openWatchedPage, signUpThroughPage, startStage, type Stage, type Watched } from './harness.ts'

let stage: Stage
let watched: Watched
let restarted: RunningBinary | null = null

beforeAll(async () => {
  stage = await startStage({ SHUTDOWN_TIMEOUT_SECONDS: '1' })
  watched = await openWatchedPage(stage)
  await signUpThroughPage(watched.page, stage.server.url, { name: 'Restart', email: 'restart@example.com', password: newPassword() })
  await watched.page.getByLabel('Message').waitFor()
}, 60_000)
afterAll(async () => {
  // note: the browser closes first (in stage.stop), so the restarted server has no socket to wait for.
  await stage?.stop()
  await restarted?.stop()
})

test('a restart mid-answer: "Reconnecting…", then the stored chat, without a reload', async () => {
  const { page } = watched
  const port = new URL(stage.server.url).port
  stage.ollama.setBehaviour({ chunkDelayMs: 150, replyChunks: Array.from({ length: 200 }, (_, i) => `part${i} `) })
  await askThroughPage(page, 'Tell me a long story')
  const live = page.locator('article[data-live="streaming"] .markdown')
  await live.getByText('part3', { exact: false }).waitFor()
  // note: past one checkpoint (every second), so the server has part of the answer stored.
  await Bun.sleep(1_500)
  const chatPath = new URL(page.url()).pathname
  expect(chatPath).toMatch(/^\/c\//)
  await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true))

  expect(await stage.server.stop()).toBe(0)
  await page.getByRole('status').getByText('Reconnecting…').waitFor()
  restarted = await startBinary({ cwd: stage.dataDir, env: { OLLAMA_BASE_URL: stage.ollama.url, ENABLE_TITLE_GENERATION: 'false' }, args: ['--port', port] })

  // The stored answer (not the live one) shows, with the question above it, and the page was not reloaded.
  const stored = page.locator('article.message.assistant:not([data-live]) .markdown')
  await stored.getByText('part3', { exact: false }).waitFor({ timeout: 15_000 })
  await page.getByText('Tell me a long story').first().waitFor()
  expect(await page.getByRole('heading', { name: 'How can I help?' }).count()).toBe(0)
  expect(await page.getByText('Reconnecting…').count()).toBe(0)
  expect(new URL(page.url()).pathname).toBe(chatPath)
  expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true)
  expectNothingUnsafe(watched)
}, 60_000)
