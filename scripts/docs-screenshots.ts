/**
 * Takes the README's screenshots (docs/images/*.png) with headless Chromium from the compiled
 * binary and the Ollama stand-in: a chat with a streamed answer in light and dark, and the admin
 * page. Run after `bun scripts/build.ts`: `bun scripts/docs-screenshots.ts`.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { askThroughPage, newPassword, openWatchedPage, signUpThroughPage, startStage } from '../test/browser/harness.ts'

const outDir = join(import.meta.dir, '..', 'docs', 'images')
const viewport = { width: 1000, height: 640 }
const answer = [
  'Here is a short comparison:\n\n',
  '| Model | Size | Good for |\n|---|---|---|\n| qwen2.5:0.5b | 0.5B | quick answers |\n| llama3.2:1b | 1B | everyday chat |\n\n',
  'And the function you asked for:\n\n',
  '```typescript\nexport function greet(name: string): string {\n  return `Hello, ${name}!`\n}\n```\n',
]

mkdirSync(outDir, { recursive: true })
const stage = await startStage()
try {
  const account = { name: 'Ada Lovelace', email: 'ada@example.com', password: newPassword() }
  const first = await openWatchedPage(stage, { viewport })
  await signUpThroughPage(first.page, stage.server.url, account)
  stage.ollama.setBehaviour({ replyChunks: answer })
  await askThroughPage(first.page, 'Which small model should I start with, and how do I greet someone in TypeScript?')
  await first.page.locator('article.message.assistant pre').waitFor()
  await first.page.locator('form.composer[data-ready]').waitFor()
  const chatPath = new URL(first.page.url()).pathname
  await first.context.close()

  for (const scheme of ['light', 'dark'] as const) {
    const { page, context } = await openWatchedPage(stage, { viewport, colorScheme: scheme })
    await page.goto(stage.server.url + '/auth')
    await page.getByLabel('Email').fill(account.email)
    await page.getByLabel('Password').fill(account.password)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.locator('.user-menu button.user-button').waitFor()
    await page.goto(stage.server.url + chatPath)
    await page.locator('article.message.assistant pre').waitFor()
    await page.screenshot({ path: join(outDir, `chat-${scheme}.png`) })
    if (scheme === 'light') {
      await page.goto(stage.server.url + '/admin/ollama')
      await page.getByText(/reachable, Ollama/).waitFor()
      await page.locator('#connections-heading').scrollIntoViewIfNeeded()
      await page.screenshot({ path: join(outDir, 'admin-light.png') })
    }
    await context.close()
  }
  console.log(`Screenshots written to ${outDir}`)
} finally {
  await stage.stop()
}
