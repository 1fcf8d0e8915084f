/**
 * Titles the model writes: after a new chat's first answer the server names the chat and tells
 * every socket of the user (chat:title); the page shows the new name in the sidebar, the chat's
 * heading and the window title, in this tab and in another one, without a reload.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { askThroughPage, expectNothingUnsafe, newPassword, openWatchedPage, signUpThroughPage, startStage, type Stage } from './harness.ts'

const TEST_TIMEOUT_MS = 60_000
let stage: Stage

beforeAll(async () => {
  stage = await startStage({ ENABLE_TITLE_GENERATION: 'true' })
})
afterAll(async () => {
  await stage?.stop()
})

test('the model\'s title replaces the first line in the sidebar, the heading and the window title, in both tabs', async () => {
  const watched = await openWatchedPage(stage)
  const { page, context } = watched
  await signUpThroughPage(page, stage.server.url, { name: 'Titled', email: 'titled@example.com', password: newPassword() })
  await page.getByLabel('Message').waitFor()
  const second = await context.newPage()
  await second.goto(stage.server.url)
  await second.getByLabel('Message').waitFor()
  // note: the stand-in answers the title request with the same chunks, so both read as this JSON.
  stage.ollama.setBehaviour({ chunkDelayMs: 20, replyChunks: ['{"title": ', '"Tides and the moon"}'] })
  await askThroughPage(page, 'why are there two tides a day')
  for (const target of [page, second]) {
    await target.locator('nav, aside').getByRole('link', { name: 'Tides and the moon' }).waitFor()
    expect(await target.locator('nav, aside').getByRole('link', { name: 'why are there two tides a day' }).count()).toBe(0)
  }
  await page.getByRole('heading', { name: 'Tides and the moon' }).waitFor()
  await page.waitForFunction(() => document.title.startsWith('Tides and the moon'))
  await page.reload()
  await page.locator('nav, aside').getByRole('link', { name: 'Tides and the moon' }).waitFor()
  expectNothingUnsafe(watched)
  await context.close()
}, TEST_TIMEOUT_MS)
