/**
 * What answers show beyond Markdown: math drawn with KaTeX (`$…$`, `$$…$$`, `\(…\)`, `\[…\]`) and
 * Mermaid diagrams, each from a chunk the page loads only once a message needs it, under the
 * default CSP with no violation; the model's name and the answer's statistics; a copy button on
 * each code block; titles shown without their Markdown marks. The XSS corpus and hostile TeX and
 * diagram sources stay inert through both renderers.
 */
import { afterAll, beforeAll, describe, expect, test } from 'bun:test'
import type { Page } from 'playwright-core'
import { askThroughPage, expectNothingUnsafe, newPassword, openWatchedPage, saveScreenshot, signUpThroughPage, startStage, type Stage, type Watched } from './harness.ts'
import { xssPayloads } from './xss-corpus.ts'

const TEST_TIMEOUT_MS = 90_000
const OUTSIDE = 'http://203.0.113.9'
let stage: Stage
let watched: Watched
let page: Page
const assetsFetched: string[] = []

const mathAnswer = [
  'Euler: $e^{i\\pi} + 1 = 0$, and inline \\(a^2 + b^2 = c^2\\). Prices like $5 and $10 stay text.\n\n',
  '$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$\n\n',
  '\\[\\sum_{n=1}^{\\infty} \\frac{1}{n^2} = \\frac{\\pi^2}{6}\\]\n\n',
  'A matrix: $$\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}$$',
]
const diagramAnswer = ['Here is the flow:\n\n```mermaid\ngraph TD\n  A[Question] --> B{Model}\n  B -->|answers| C[Reader]\n  B -->|fails| D[Retry]\n```\n\nAnd a sequence:\n\n',
  '```mermaid\nsequenceDiagram\n  Browser->>Server: chat:send\n  Server-->>Browser: chat:delta\n```\n']

/** Answers `chunks` to the next question and waits until the answer is stored and shown. */
async function answerWith(question: string, chunks: string[]): Promise<void> {
  await page.getByRole('link', { name: 'New chat' }).click()
  stage.ollama.setBehaviour({ chunkDelayMs: 0, replyChunks: chunks })
  await askThroughPage(page, question)
  await page.locator('article.message.assistant:not([data-live])').last().waitFor()
  stage.ollama.setBehaviour({ replyChunks: null })
}

/** Nothing ran, nothing reached another origin, and only the renderers' own markup carries styles or SVG. */
async function expectRenderedInert(): Promise<void> {
  await Bun.sleep(300) // note: gives an onerror/onload handler time to fire, had one survived
  expect(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss === undefined)).toBe(true)
  expect(await page.evaluate(() => document.querySelectorAll('.messages script, .messages iframe, .messages object, .messages embed, .messages style, .messages form, .messages foreignObject, .messages [onerror], .messages [onload], .messages [onclick]').length)).toBe(0)
  expect(await page.evaluate(() => [...document.querySelectorAll('.messages svg, .messages [style]')].filter((node) => node.closest('.katex, .copy-code, .actions') === null).length)).toBe(0)
  expect(await page.evaluate(() => [...document.querySelectorAll('.messages a[href]')].filter((link) => link.closest('.katex') !== null).length)).toBe(0)
  const images = await page.locator('.messages img[src]').evaluateAll((found) => found.map((image) => image.getAttribute('src') ?? ''))
  for (const src of images) expect(src).toMatch(/^data:image\/(?:svg\+xml|png|gif|jpe?g|webp)[;,]/)
  expectNothingUnsafe(watched)
}

beforeAll(async () => {
  stage = await startStage()
  watched = await openWatchedPage(stage)
  page = watched.page
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname
    if (path.startsWith('/assets/')) assetsFetched.push(path)
  })
  await signUpThroughPage(page, stage.server.url, { name: 'Emmy Noether', email: 'emmy@example.com', password: newPassword() })
  await page.getByRole('textbox', { name: 'Message' }).waitFor()
}, TEST_TIMEOUT_MS)
afterAll(async () => {
  await stage?.stop()
})

describe('math, diagrams and answer details', () => {
  test('a plain answer loads neither renderer; it shows the model, its statistics and a copy button per code block', async () => {
    await answerWith('plain please', ['Just **text**, and code:\n\n```js\nconsole.log(1)\n```\n'])
    const answer = page.locator('article.message.assistant').last()
    expect(await answer.locator('.model-name').textContent()).toBe('qwen2.5:0.5b')
    expect(await answer.locator('.stats').textContent()).toMatch(/^\d+ tokens · [\d.]+ tokens\/s · [\d.]+ s$/)
    await answer.getByRole('button', { name: 'Copy code' }).waitFor()
    expect(assetsFetched.filter((path) => /math-render|mermaid-render|katex/i.test(path))).toEqual([])
    expectNothingUnsafe(watched)
  }, TEST_TIMEOUT_MS)

  test.each(['light', 'dark'] as const)('math is drawn with KaTeX and its fonts, in %s, with no CSP violation', async (scheme) => {
    await page.emulateMedia({ colorScheme: scheme })
    await answerWith(`math in ${scheme}`, mathAnswer)
    const answer = page.locator('article.message.assistant').last()
    await answer.locator('.math-inline .katex').first().waitFor()
    expect(await answer.locator('.math-inline[role="math"]').count()).toBe(2)
    expect(await answer.locator('.math-display[role="math"] .katex-display').count()).toBe(3)
    expect(await answer.locator('.math-inline').first().getAttribute('aria-label')).toBe('e^{i\\pi} + 1 = 0')
    expect(await answer.textContent()).toContain('Prices like $5 and $10 stay text.')
    expect(await answer.locator('.math-failed').count()).toBe(0)
    await page.waitForFunction(() => document.fonts.check('16px KaTeX_Main'))
    expect(assetsFetched.some((path) => /^\/assets\/math-render-[\w-]+\.js$/.test(path))).toBe(true)
    expect(assetsFetched.some((path) => /^\/assets\/katex-[\w]+\.css$/.test(path))).toBe(true)
    expect(assetsFetched.some((path) => /^\/assets\/KaTeX_Main-Regular-[\w]+\.woff2$/.test(path))).toBe(true)
    await saveScreenshot(page, `math-${scheme}`)
    await expectRenderedInert()
  }, TEST_TIMEOUT_MS)

  test.each(['light', 'dark'] as const)('Mermaid diagrams are drawn as images, in %s, with no CSP violation', async (scheme) => {
    await page.emulateMedia({ colorScheme: scheme })
    await answerWith(`diagram in ${scheme}`, diagramAnswer)
    const answer = page.locator('article.message.assistant').last()
    await answer.locator('img.diagram').nth(1).waitFor({ timeout: 30_000 })
    const sizes = await answer.locator('img.diagram').evaluateAll((images) => images.map((image) => [(image as HTMLImageElement).naturalWidth, (image as HTMLImageElement).naturalHeight]))
    for (const [width, height] of sizes) {
      expect(width).toBeGreaterThan(50)
      expect(height).toBeGreaterThan(50)
    }
    expect(await answer.locator('img.diagram').first().getAttribute('alt')).toBe('Diagram: graph TD')
    // note: the source stays copyable.
    await answer.locator('.mermaid-block').first().getByRole('button', { name: 'Copy code' }).waitFor()
    expect(assetsFetched.some((path) => /^\/assets\/mermaid-render-[\w-]+\.js$/.test(path))).toBe(true)
    await answer.locator('img.diagram').first().scrollIntoViewIfNeeded()
    await saveScreenshot(page, `diagram-${scheme}`)
    await expectRenderedInert()
  }, TEST_TIMEOUT_MS)

  test('a title written in Markdown shows as plain words in the sidebar, the header and the tab', async () => {
    await answerWith('title to rename', ['ok'])
    await page.getByRole('button', { name: 'Actions for title to rename' }).click()
    await page.getByRole('button', { name: 'Rename', exact: true }).click()
    await page.getByLabel('New title').fill('## **Quokka** facts with `code`')
    await page.getByLabel('New title').press('Enter')
    await page.getByRole('link', { name: 'Quokka facts with code', exact: true }).waitFor()
    await page.getByRole('heading', { level: 1, name: 'Quokka facts with code' }).waitFor()
    expect(await page.title()).toStartWith('Quokka facts with code ·')
  }, TEST_TIMEOUT_MS)
})

describe('hostile content through math and diagrams', () => {
  test('the XSS corpus inside math delimiters, and TeX that asks for links, styles or images, is inert', async () => {
    const hostileTex = [
      `$\\href{javascript:window.__xss='href'}{click}$`, `$\\url{javascript:alert(1)}$`, `$\\htmlClass{x}{y}$`, `$\\htmlStyle{background:url(${OUTSIDE}/bg.png)}{x}$`,
      `$\\htmlData{foo=bar}{x}$`, `$\\includegraphics{${OUTSIDE}/pic.png}$`, `$$\\href{${OUTSIDE}}{outside}$$`,
      `\\(\\text{<img src=x onerror="window.__xss='text'">}\\)`, `$\\def\\a{\\a\\a}\\a$`, `$${'\\frac{1}{'.repeat(200)}x${'}'.repeat(200)}$$`,
      ...xssPayloads.map((payload) => `$${payload.replaceAll('$', '')}$`), ...xssPayloads.map((payload) => `\\[${payload}\\]`),
    ]
    await answerWith('hostile math', [hostileTex.join('\n\n') + '\n\nEND-OF-MATH'])
    await page.locator('article.message.assistant', { hasText: 'END-OF-MATH' }).waitFor()
    await page.locator('article.message.assistant').last().locator('.math[data-drawn]').first().waitFor()
    await expectRenderedInert()
  }, TEST_TIMEOUT_MS)

  test('hostile Mermaid sources (script labels, click handlers, init directives, the corpus) are inert', async () => {
    const sources = [
      `graph TD\n  A["<img src=x onerror=window.__xss='label'>"] --> B["<script>window.__xss='script'</script>"]\n  click A call alert(1)\n  click B "javascript:window.__xss='click'"`,
      `%%{init: {"securityLevel": "loose", "startOnLoad": true}}%%\ngraph LR\n  A[<a href="javascript:alert(1)">x</a>] --> B`,
      `sequenceDiagram\n  Alice->>Bob: <img src="${OUTSIDE}/seq.png" onerror="window.__xss='seq'">\n  Note over Bob: <iframe src="javascript:parent.__xss='note'"></iframe>`,
      `classDiagram\n  class A {\n    +<style>@import url(${OUTSIDE}/x.css)</style>\n  }`,
      `graph TD\n  A --> B\n  style A fill:url(${OUTSIDE}/fill.png)\n  classDef bad fill:#f00,background:url(${OUTSIDE}/bg.png)`,
      `graph TD\n${xssPayloads.map((payload, i) => `  N${i}["${payload.replaceAll('"', '#quot;')}"]`).join('\n')}`,
    ]
    await answerWith('hostile diagrams', [sources.map((source) => `\`\`\`mermaid\n${source}\n\`\`\``).join('\n\n') + '\n\nEND-OF-DIAGRAMS'])
    const answer = page.locator('article.message.assistant').last()
    await answer.getByText('END-OF-DIAGRAMS').waitFor()
    // note: each block either becomes an image or keeps its source; wait until all have settled.
    await page.waitForFunction(() => [...document.querySelectorAll('article.message.assistant:last-of-type .mermaid-block')]
      .every((block) => block.classList.contains('drawn') || block.classList.contains('diagram-failed')), undefined, { timeout: 30_000 })
    expect(await answer.locator('img.diagram').count()).toBeGreaterThan(0)
    await expectRenderedInert()
  }, TEST_TIMEOUT_MS)
})
