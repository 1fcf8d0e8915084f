/**
 * The admin's access pages in the browser, against the binary: a group made and filled on the
 * admin page, a model granted to it there, and the model picker of a user offering exactly the
 * granted model (it reads /api/models); every control named, nothing unsafe on the page.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { expectNothingUnsafe, newPassword, openFromUserMenu, openWatchedPage, signUpThroughPage, startStage, type Stage, waitForComposer } from './harness.ts'

const TEST_TIMEOUT_MS = 90_000
let stage: Stage
const admin = { name: 'Ada Admin', email: 'ada@example.com', password: newPassword() }
const member = { name: 'Bob Member', email: 'bob@example.com', password: newPassword() }

beforeAll(async () => {
  stage = await startStage({ BYPASS_MODEL_ACCESS_CONTROL: 'false', DEFAULT_USER_ROLE: 'user' })
})
afterAll(async () => {
  await stage?.stop()
})

test('an admin makes a group, adds a member and grants it a model; the member\'s picker offers that model only', async () => {
  const adminPage = await openWatchedPage(stage)
  await signUpThroughPage(adminPage.page, stage.server.url, admin)
  await waitForComposer(adminPage.page)
  const memberPage = await openWatchedPage(stage)
  await signUpThroughPage(memberPage.page, stage.server.url, member)
  // note: nothing granted yet: the member's page has no model to offer.
  await memberPage.page.getByText('No models are available to you').waitFor()

  const { page } = adminPage
  await openFromUserMenu(page, 'Admin', 'Groups')
  await page.getByRole('heading', { name: 'Groups and permissions' }).waitFor()
  await page.getByLabel('New group').fill('Team')
  await page.getByRole('button', { name: 'Create group' }).click()
  await page.getByLabel('User to add to Team').selectOption({ label: member.email })
  await page.getByRole('button', { name: 'Add', exact: true }).click()
  await page.getByRole('list', { name: 'Members of Team' }).getByText(member.email).waitFor()

  await page.getByRole('navigation', { name: /sections$/ }).getByRole('link', { name: 'Model access', exact: true }).click()
  await page.getByLabel('Who may use llama3.2:1b').selectOption('groups')
  await page.getByLabel('Team may use llama3.2:1b').waitFor()
  expect(await page.getByLabel('Team may use llama3.2:1b').isChecked()).toBe(true)
  expect(await page.getByLabel('Who may use qwen2.5:0.5b').inputValue()).toBe('admins')
  expectNothingUnsafe(adminPage)

  // note: the member is still signed in; a reload reads /api/models again.
  await memberPage.page.reload()
  await waitForComposer(memberPage.page)
  const offered = await memberPage.page.getByLabel('Model').locator('option').allTextContents()
  expect(offered).toEqual(['llama3.2:1b'])
  expectNothingUnsafe(memberPage)
  await adminPage.context.close()
  await memberPage.context.close()
}, TEST_TIMEOUT_MS)
