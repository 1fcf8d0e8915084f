/**
 * The browser UI, in Debian's headless Chromium against the compiled binary (dist/enclave, built
 * afresh first, so it carries the current UI) and the Ollama stand-in: the gzipped bytes of a first
 * load (index.html, what it links and the chunks those import statically; the math and diagram
 * renderers are chunks imported only when a message needs them, so they must not be in it, and
 * their own size is shown beside it), the time from navigation to an interactive chat screen with a warm server (the
 * page's own `enclave:interactive` mark: message box ready to send), and the time to open and
 * render a 1,000-message chat (from the `enclave:chat-open` mark to `enclave:chat-rendered`, the
 * frame after the messages are in the DOM; fetching and decrypting the chat included).
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { startFakeOllama } from '../test/fakes/ollama.ts'
import { BINARY, makeTempDir, startBinary } from '../test/helpers/binary.ts'
import { CHROMIUM, CHROMIUM_ARGS } from '../test/browser/harness.ts'
import { median } from './measure.ts'
import { formatNumber, type BenchRow } from './report.ts'

const root = join(import.meta.dir, '..')
const NAVIGATIONS = 10
const RENDERS = 5
const BIG_CHAT_MESSAGES = 1_000

export type UiFigures = {
  firstLoadGzipBytes: number; firstLoadRawBytes: number; mathGzipBytes: number; diagramGzipBytes: number
  interactiveMs: number; interactiveMaxMs: number; renderMs: number; renderMaxMs: number
}

const uiDir = join(root, 'build', 'ui')
const gzipSize = (bytes: Uint8Array<ArrayBuffer>) => Bun.gzipSync(bytes, { level: 9 }).length

/** The files `path` (under build/ui) pulls in: the assets an HTML file links, the chunks a script imports statically, and theirs. */
function closureOf(paths: string[], seen = new Set<string>()): Set<string> {
  for (const path of paths) {
    if (seen.has(path)) continue
    seen.add(path)
    const text = readFileSync(join(uiDir, path), 'utf8')
    const next = path.endsWith('.html')
      ? [...text.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((match) => match[1]!)
      // note: static imports only (`from"/assets/…"`, `import"/assets/…"`); `import("…")` loads on demand.
      : path.endsWith('.js') ? [...text.matchAll(/(?:from|import)\s*"\/(assets\/[^"]+\.js)"/g)].map((match) => match[1]!) : []
    closureOf(next, seen)
  }
  return seen
}

/** What a first load fetches, raw and gzipped at level 9; and what the math and diagram chunks add when a message needs them. */
function measureFirstLoad(): { raw: number; gzip: number; mathGzip: number; diagramGzip: number } {
  const firstLoad = closureOf(['index.html'])
  const heavy = [...firstLoad].filter((path) => /math-render|mermaid|katex/i.test(path))
  if (heavy.length > 0) throw new Error(`the first load carries a renderer meant to load on demand: ${heavy.join(', ')}`)
  const files = [...firstLoad].map((path) => readFileSync(join(uiDir, path)))
  const assets = [...new Bun.Glob('assets/*.js').scanSync(uiDir)]
  const extra = (entry: string) => [...closureOf([assets.find((path) => path.startsWith(`assets/${entry}-`))!])]
    .filter((path) => !firstLoad.has(path)).reduce((sum, path) => sum + gzipSize(readFileSync(join(uiDir, path))), 0)
  const katexSheet = [...new Bun.Glob('assets/katex-*.css').scanSync(uiDir)].reduce((sum, path) => sum + gzipSize(readFileSync(join(uiDir, path))), 0)
  return {
    raw: files.reduce((sum, file) => sum + file.length, 0), gzip: files.reduce((sum, file) => sum + gzipSize(file), 0),
    mathGzip: extra('math-render') + katexSheet, diagramGzip: extra('mermaid-render'),
  }
}

/** A long chat in Markdown: questions, answers with lists, tables and code. */
function bigChatMessages() {
  return Array.from({ length: BIG_CHAT_MESSAGES }, (_, i) => i % 2 === 0
    ? { role: 'user', content: `Question ${i}: how do I write a loop in TypeScript?` }
    : { role: 'assistant', model: 'qwen2.5:0.5b', content: `Here is **answer ${i}**, with a list and code:\n\n- first point\n- second point\n\n\`\`\`ts\nfor (let i = 0; i < ${i}; i++) console.log(i)\n\`\`\`\n\n| a | b |\n|---|---|\n| ${i} | ${i + 1} |` })
}

export async function measureUi(): Promise<UiFigures> {
  const built = Bun.spawnSync([process.execPath, join(root, 'scripts', 'build.ts')], { cwd: root, stdout: 'ignore', stderr: 'inherit' })
  if (built.exitCode !== 0 || !existsSync(BINARY)) throw new Error('building dist/enclave failed')
  const firstLoad = measureFirstLoad()
  const ollama = await startFakeOllama()
  const server = await startBinary({ cwd: makeTempDir('enclave-bench-ui-'), env: { OLLAMA_BASE_URL: ollama.url } })
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })
  try {
    const password = `bench-${crypto.randomUUID()}`
    const signUp = await fetch(`${server.url}/api/v1/auths/signup`, {
      method: 'POST', headers: { 'content-type': 'application/json', origin: server.url },
      body: JSON.stringify({ name: 'Bench', email: 'bench@example.com', password }),
    })
    const { token } = (await signUp.json()) as { token: string }
    const created = await fetch(`${server.url}/api/v1/chats/new`, {
      method: 'POST', headers: { 'content-type': 'application/json', origin: server.url, authorization: `Bearer ${token}` },
      body: JSON.stringify({ chat: { title: 'A long chat', messages: bigChatMessages() } }),
    })
    if (!created.ok) throw new Error(`creating the long chat failed: ${created.status}`)

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    await context.addCookies([{ name: 'token', value: token, url: server.url }])
    const page = await context.newPage()
    const markTime = (name: string) => page.evaluate((mark) => performance.getEntriesByName(mark).at(-1)?.startTime ?? null, name)

    const interactive: number[] = []
    for (let i = 0; i < NAVIGATIONS + 2; i++) {
      await page.goto(server.url)
      await page.waitForFunction(() => performance.getEntriesByName('enclave:interactive').length > 0)
      const ms = await markTime('enclave:interactive')
      if (i >= 2 && ms !== null) interactive.push(ms) // note: the first two warm the server and the browser cache
    }

    const renders: number[] = []
    for (let i = 0; i < RENDERS + 1; i++) {
      await page.goto(server.url)
      await page.locator('form.composer[data-ready]').waitFor()
      await page.evaluate(() => performance.clearMarks())
      await page.getByRole('link', { name: 'A long chat' }).click()
      await page.waitForFunction(() => performance.getEntriesByName('enclave:chat-rendered').length > 0, undefined, { timeout: 60_000 })
      const opened = await markTime('enclave:chat-open')
      const rendered = await markTime('enclave:chat-rendered')
      if (await page.locator('article.message').count() === 0) throw new Error('the long chat showed no messages')
      if (i >= 1 && opened !== null && rendered !== null) renders.push(rendered - opened)
    }
    return {
      firstLoadGzipBytes: firstLoad.gzip, firstLoadRawBytes: firstLoad.raw, mathGzipBytes: firstLoad.mathGzip, diagramGzipBytes: firstLoad.diagramGzip,
      interactiveMs: median(interactive), interactiveMaxMs: Math.max(...interactive),
      renderMs: median(renders), renderMaxMs: Math.max(...renders),
    }
  } finally {
    await browser.close()
    await server.stop()
    await ollama.stop()
  }
}

export function uiRows(figures: UiFigures): BenchRow[] {
  const kb = (bytes: number) => `${formatNumber(bytes / 1024, 1)} KB`
  return [
    {
      name: 'UI first load, gzipped (JS+CSS+HTML)',
      figures: [`${kb(figures.firstLoadRawBytes)} raw`, `on demand: math +${kb(figures.mathGzipBytes)}, diagrams +${kb(figures.diagramGzipBytes)} (+fonts)`],
      measured: figures.firstLoadGzipBytes / 1024, measuredText: kb(figures.firstLoadGzipBytes), target: { kind: 'atMost', limit: 150, label: '≤150 KB' },
    },
    {
      name: 'UI navigation → interactive chat (warm)', figures: [`max ${formatNumber(figures.interactiveMaxMs, 0)} ms`],
      measured: figures.interactiveMs, measuredText: `${formatNumber(figures.interactiveMs, 0)} ms`, target: { kind: 'atMost', limit: 300, label: '≤300 ms' },
    },
    {
      name: `UI open + render a ${formatNumber(BIG_CHAT_MESSAGES)}-message chat`, figures: [`max ${formatNumber(figures.renderMaxMs, 0)} ms`],
      measured: figures.renderMs, measuredText: `${formatNumber(figures.renderMs, 0)} ms`, target: { kind: 'atMost', limit: 500, label: '≤500 ms' },
    },
  ]
}

if (import.meta.main) {
  const { formatSummary, formatTable } = await import('./report.ts')
  const rows = uiRows(await measureUi())
  console.log(formatTable(rows))
  console.log(formatSummary(rows))
}
