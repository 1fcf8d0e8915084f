/**
 * Images in the browser, against the compiled binary and the Ollama stand-in: attached with the
 * button, pasted and dropped, previewed in the composer, sent to a vision model (the stand-in gets
 * the bytes in `images`), shown in the sent message from the file route under the strict CSP; a
 * model without vision gets Enclave's clear error; a refused upload says why.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Page } from 'playwright-core'
import { defaultFakeModels, visionFakeModel } from '../fakes/ollama-replies.ts'
import { makePng } from '../helpers/sample-files.ts'
import { expectNothingUnsafe, newPassword, openWatchedPage, signUpThroughPage, startStage, waitForComposer, type Stage, type Watched } from './harness.ts'

const TEST_TIMEOUT_MS = 60_000
let stage: Stage
let watched: Watched
let page: Page

const chatRequests = () => stage.ollama.requests.filter((request) => request.path === '/api/chat')
const lastImages = () => ((chatRequests().at(-1)!.body as { messages: { images?: string[] }[] }).messages.at(-1)!.images ?? [])

/** Puts files on the page as a paste or a drop would (a DataTransfer built in the page from the bytes). */
async function transfer(kind: 'paste' | 'drop', files: { name: string; type: string; bytes: Buffer }[]) {
  await page.evaluate(({ kind, files }) => {
    const data = new DataTransfer()
    for (const file of files) data.items.add(new File([Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0))], file.name, { type: file.type }))
    const target = kind === 'paste' ? document.querySelector('textarea#message')! : document.querySelector('form.composer')!
    const event = kind === 'paste' ? new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }) : new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true })
    target.dispatchEvent(event)
  }, { kind, files: files.map((file) => ({ name: file.name, type: file.type, base64: file.bytes.toString('base64') })) })
}

beforeAll(async () => {
  stage = await startStage({}, undefined, [visionFakeModel, ...defaultFakeModels])
  watched = await openWatchedPage(stage)
  page = watched.page
  await signUpThroughPage(page, stage.server.url, { name: 'Pixel', email: 'pixel@example.com', password: newPassword() })
  await page.getByLabel('Message').waitFor()
}, TEST_TIMEOUT_MS)
afterAll(async () => {
  await stage?.stop()
})

describe('images in the browser', () => {
  test('attach with the button, paste and drop: previews, then the vision model gets the bytes and the message shows them', async () => {
    await waitForComposer(page)
    await page.getByLabel('Model').selectOption(visionFakeModel.name)
    const pngs = [makePng(20, 20, 1), makePng(20, 20, 2), makePng(20, 20, 3)]
    await page.locator('input[type=file]').setInputFiles({ name: 'one.png', mimeType: 'image/png', buffer: pngs[0]! })
    await transfer('paste', [{ name: 'two.png', type: 'image/png', bytes: pngs[1]! }])
    await transfer('drop', [{ name: 'three.png', type: 'image/png', bytes: pngs[2]! }])
    const tray = page.getByRole('list', { name: 'Attached files' })
    await tray.getByRole('img').nth(2).waitFor()
    expect(await tray.getByRole('img').count()).toBe(3)
    await page.waitForFunction(() => document.querySelector('.attachment-tray li[data-status="uploading"]') === null)
    await page.getByRole('textbox', { name: 'Message' }).fill('What do these show?')
    await page.getByRole('textbox', { name: 'Message' }).press('Enter')
    await page.locator('article.message.assistant').last().waitFor()
    await waitForComposer(page)
    const images = lastImages()
    expect(images.map((image) => Buffer.from(image, 'base64')).map((bytes) => pngs.findIndex((png) => png.equals(bytes))).sort()).toEqual([0, 1, 2])
    expect(await tray.count()).toBe(0)
    const shown = page.locator('article.message.user .message-files img')
    await shown.nth(2).waitFor()
    // each image loaded from the file route, with the session cookie, under the page's CSP
    const sizes = await shown.evaluateAll((elements) => elements.map((element) => [(element as HTMLImageElement).complete, (element as HTMLImageElement).naturalWidth, (element as HTMLImageElement).getAttribute('src')]))
    for (const [complete, width, src] of sizes) {
      expect(complete).toBe(true)
      expect(width).toBe(20)
      expect(String(src)).toMatch(/^\/api\/v1\/files\/[0-9a-f-]{36}\/content$/)
    }
    await page.reload()
    await page.locator('article.message.user .message-files img').nth(2).waitFor()
    expectNothingUnsafe(watched)
  }, TEST_TIMEOUT_MS)

  test('a model without vision: Enclave says so, and nothing is sent to Ollama', async () => {
    await page.getByRole('link', { name: 'New chat' }).click()
    await waitForComposer(page)
    await page.getByLabel('Model').selectOption('qwen2.5:0.5b')
    await page.locator('input[type=file]').setInputFiles({ name: 'photo.png', mimeType: 'image/png', buffer: makePng(8, 8, 9) })
    await page.locator('.attachment-tray li[data-status="ready"]').last().waitFor()
    const before = chatRequests().length
    await page.getByRole('textbox', { name: 'Message' }).fill('Describe the photo')
    await page.getByRole('textbox', { name: 'Message' }).press('Enter')
    await page.getByRole('alert').filter({ hasText: 'cannot read images' }).waitFor()
    expect(chatRequests().length).toBe(before)
  }, TEST_TIMEOUT_MS)

  test('a refused upload (SVG) says why in the tray', async () => {
    await transfer('drop', [{ name: 'logo.svg', type: 'image/svg+xml', bytes: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>') }])
    await page.locator('.attachment-tray li[data-status="failed"]').getByRole('alert').filter({ hasText: 'SVG images are not accepted' }).waitFor()
    await page.getByRole('button', { name: 'Remove logo.svg' }).click()
    expect(await page.locator('.attachment-tray li').count()).toBe(0)
    expectNothingUnsafe(watched)
  }, TEST_TIMEOUT_MS)
})
