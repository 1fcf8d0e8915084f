/**
 * The workspace in the page, in real Chromium against the binary: typing `/` in the composer offers
 * the saved prompts, Enter inserts the chosen one with Open WebUI's variables filled (an unknown
 * location left as written), and a workspace model is offered in the model picker by its name and
 * answers with its base model and system prompt.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import type { Page } from 'playwright-core'
import { expectNothingUnsafe, newPassword, openFromUserMenu, openWatchedPage, signInThroughPage, signUpThroughPage, startStage, type Stage } from './harness.ts'

const TEST_TIMEOUT_MS = 60_000
let stage: Stage
const admin = { name: 'Ada Workspace', email: 'workspace@example.com', password: newPassword() }

beforeAll(async () => {
  stage = await startStage({ ENABLE_DIRECT_CONNECTIONS: 'true', DIRECT_CONNECTIONS_ALLOWED_HOSTS: '127.0.0.1', DEFAULT_USER_ROLE: 'user' })
})
afterAll(async () => {
  await stage?.stop()
})

/** Sends a same-origin JSON request with the page's session, as the page itself would. */
const post = (page: Page, path: string, body: unknown) => page.evaluate(async ({ path, body }) => {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return res.status
}, { path, body })

test('the / picker inserts a saved prompt with its variables filled; a preset answers through its base model', async () => {
  const watched = await openWatchedPage(stage)
  const { page, context } = watched
  await signUpThroughPage(page, stage.server.url, admin)
  await page.locator('form.composer[data-ready]').waitFor()
  expect(await post(page, '/api/v1/prompts/create', { command: '/greet', title: 'Greeting', content: 'Hello {{USER_NAME}}, today is {{CURRENT_DATE}} ({{CURRENT_WEEKDAY}}) near {{USER_LOCATION}}.', access_control: {} })).toBe(200)
  expect(await post(page, '/api/v1/prompts/create', { command: '/summarise', title: 'Summary', content: 'Summarise this.', access_control: {} })).toBe(200)
  expect(await post(page, '/api/v1/models/create', {
    id: 'pirate', base_model_id: 'llama3.2:1b', name: 'Pirate Helper', meta: { description: 'Talks like a pirate' }, params: { system: 'Answer like a pirate.', temperature: 0.3 }, access_control: {}, is_active: true,
  })).toBe(200)
  // note: the model picker learns of the preset on the next listing; the / picker asks each time it opens.
  await page.reload()
  await page.locator('form.composer[data-ready]').waitFor()

  const box = page.getByRole('textbox', { name: 'Message' })
  await box.pressSequentially('/gr')
  const picker = page.getByRole('listbox', { name: 'Saved prompts' })
  await picker.waitFor()
  expect(await picker.getByRole('option').allTextContents()).toEqual(['/greet Greeting'])
  await box.press('Enter')
  const now = new Date()
  const today = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`
  const weekday = now.toLocaleDateString('en-US', { weekday: 'long' })
  expect(await box.inputValue()).toBe(`Hello Ada Workspace, today is ${today} (${weekday}) near {{USER_LOCATION}}.`)
  expect(await picker.count()).toBe(0)

  await page.getByLabel('Model').selectOption({ label: 'Pirate Helper' })
  await box.fill('ahoy there')
  await box.press('Enter')
  await page.locator('article.message.assistant', { hasText: 'ahoy' }).waitFor()
  const asked = stage.ollama.requests.filter((request) => request.path === '/api/chat').at(-1)!.body as { model: string; messages: { role: string; content: string }[]; options?: Record<string, unknown> }
  expect(asked.model).toBe('llama3.2:1b')
  expect(asked.messages[0]).toEqual({ role: 'system', content: 'Answer like a pirate.' })
  expect(asked.options).toMatchObject({ temperature: 0.3 })
  expectNothingUnsafe(watched)
  await context.close()
}, TEST_TIMEOUT_MS)

test('the workspace pages create, edit, turn off and delete a model and a prompt', async () => {
  const watched = await openWatchedPage(stage)
  const { page, context } = watched
  await signInThroughPage(page, stage.server.url, admin)
  await page.locator('form.composer[data-ready]').waitFor()

  await page.getByRole('link', { name: 'Prompts' }).click()
  await page.getByRole('button', { name: 'New prompt' }).click()
  const promptForm = page.getByRole('form', { name: 'New prompt' })
  await promptForm.getByLabel('Command').fill('haiku')
  await promptForm.getByLabel('Title').fill('Haiku')
  await promptForm.getByLabel('Content').fill('Write a haiku for {{USER_NAME}}.')
  await promptForm.getByLabel('Everyone').check()
  await promptForm.getByRole('button', { name: 'Save' }).click()
  await page.locator('.workspace-list li', { hasText: '/haiku' }).getByText('Everyone').waitFor()

  await page.getByRole('link', { name: 'Models' }).click()
  await page.getByRole('button', { name: 'New model' }).click()
  const modelForm = page.getByRole('form', { name: 'New model' })
  await modelForm.getByLabel('Name').fill('Poet')
  expect(await modelForm.getByLabel('Model id').inputValue()).toBe('poet')
  await modelForm.getByLabel('Base model').selectOption('qwen2.5:0.5b')
  await modelForm.getByLabel('System prompt').fill('Answer in verse.')
  await modelForm.getByLabel('Temperature').fill('0.7')
  await modelForm.getByRole('button', { name: 'Save' }).click()
  const row = page.locator('.workspace-list li', { hasText: 'Poet' })
  await row.waitFor()
  await row.getByRole('button', { name: 'Edit' }).click()
  await page.getByRole('form', { name: 'Edit model' }).getByLabel('Description').fill('Rhymes')
  await page.getByRole('form', { name: 'Edit model' }).getByRole('button', { name: 'Save' }).click()
  await page.getByRole('form', { name: 'Edit model' }).waitFor({ state: 'detached' })
  const stored = await page.evaluate(async () => (await fetch('/api/v1/models/model?id=poet')).json())
  expect(stored).toMatchObject({ name: 'Poet', base_model_id: 'qwen2.5:0.5b', params: { system: 'Answer in verse.', temperature: 0.7 }, meta: { description: 'Rhymes' }, access_control: {} })
  await row.getByLabel('On').uncheck()
  await row.getByText('· off').waitFor()
  await row.getByRole('button', { name: 'Delete' }).click()
  await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click()
  await row.waitFor({ state: 'detached' })
  expectNothingUnsafe(watched)
  await context.close()
}, TEST_TIMEOUT_MS)

test('Settings saves a direct connection; its models join the picker, prefixed, and answer through the server', async () => {
  const watched = await openWatchedPage(stage)
  const { page, context } = watched
  await signInThroughPage(page, stage.server.url, admin)
  await page.locator('form.composer[data-ready]').waitFor()
  await openFromUserMenu(page, 'Settings', 'Direct connections')
  const form = page.getByRole('form', { name: 'Direct connections' })
  await form.getByRole('button', { name: 'Add connection' }).click()
  await form.getByLabel('URL').fill(`${stage.ollama.url}/v1`)
  await form.getByLabel('API key').fill('sk-browser-test-key')
  await form.getByLabel('Model name prefix (optional)').fill('mine')
  await form.getByRole('button', { name: 'Save connections' }).click()
  await form.getByText('Saved.').waitFor()
  await page.getByRole('link', { name: 'New chat' }).click()
  await page.locator('form.composer[data-ready]').waitFor()
  await page.getByLabel('Model').selectOption('mine.qwen2.5:0.5b')
  const box = page.getByRole('textbox', { name: 'Message' })
  await box.fill('direct hello')
  await box.press('Enter')
  await page.locator('article.message.assistant', { hasText: 'direct' }).waitFor()
  const sent = stage.ollama.requests.filter((request) => request.path === '/v1/chat/completions').at(-1)!
  expect(sent.headers.authorization).toBe('Bearer sk-browser-test-key')
  expect(sent.body).toMatchObject({ model: 'qwen2.5:0.5b' })
  expectNothingUnsafe(watched)
  await context.close()
}, TEST_TIMEOUT_MS)

test('a user without the workspace permissions gets no Models or Prompts link, and the pages say what they may do', async () => {
  const watched = await openWatchedPage(stage)
  const { page, context } = watched
  await signUpThroughPage(page, stage.server.url, { name: 'Bo Plain', email: 'plain@example.com', password: newPassword() })
  await page.locator('form.composer[data-ready]').waitFor()
  const sidebar = page.getByRole('navigation').filter({ has: page.getByRole('link', { name: 'New chat' }) })
  expect(await sidebar.getByRole('link', { name: 'New chat' }).count()).toBe(1)
  expect(await sidebar.getByRole('link', { name: 'Models', exact: true }).count()).toBe(0)
  expect(await sidebar.getByRole('link', { name: 'Prompts', exact: true }).count()).toBe(0)
  await page.goto(`${stage.server.url}/workspace/models`)
  await page.getByText('making your own needs the Models permission').waitFor()
  expect(await page.getByRole('button', { name: 'New model' }).count()).toBe(0)
  await page.goto(`${stage.server.url}/workspace/prompts`)
  await page.getByText('making your own needs the Prompts permission').waitFor()
  expect(await page.getByRole('button', { name: 'New prompt' }).count()).toBe(0)
  expectNothingUnsafe(watched)
  await context.close()
}, TEST_TIMEOUT_MS)
