/**
 * LDAP sign-in through the page, end to end: the compiled binary pointed at a real slapd (StartTLS,
 * admin group), the sign-in page's LDAP form labelled from LDAP_SERVER_LABEL, a wrong password
 * refused, the right one signing in as the directory's user with the role its groups give.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import { startSlapd, type Slapd } from '../helpers/slapd.ts'
import { expectNothingUnsafe, openWatchedPage, startStage, type Stage, userMenuEntries } from './harness.ts'

const TEST_TIMEOUT_MS = 60_000
let slapd: Slapd
let stage: Stage

beforeAll(async () => {
  slapd = await startSlapd()
  stage = await startStage(slapd.env('starttls', { LDAP_SERVER_LABEL: 'Example directory', LDAP_ADMIN_GROUPS: 'admins', WEBUI_ADMIN_EMAIL: 'root@example.com', WEBUI_ADMIN_PASSWORD: crypto.randomUUID() }))
}, 30_000)
afterAll(async () => {
  await stage?.stop()
  await slapd?.remove()
})

test('the LDAP form signs a directory user in with the role the directory gives; a wrong password is refused', async () => {
  const watched = await openWatchedPage(stage)
  const { page, context } = watched
  const alice = slapd.users.alice!
  await page.goto(stage.server.url)
  await page.getByRole('button', { name: 'Example directory' }).click()
  await page.getByLabel('Username').fill('alice')
  await page.getByLabel('Password').fill(slapd.users.bob!.password)
  await page.getByRole('button', { name: 'Sign in with Example directory' }).click()
  await page.getByRole('alert').filter({ hasText: 'incorrect' }).waitFor()

  await page.getByLabel('Password').fill(alice.password)
  await page.getByRole('button', { name: 'Sign in with Example directory' }).click()
  await page.getByLabel('Message').waitFor()
  const me = await page.evaluate(async () => (await (await fetch('/api/v1/auths/')).json()) as { email: string; role: string })
  expect(me).toMatchObject({ email: alice.mail!, role: 'admin' })
  expect(await userMenuEntries(page)).toContain('Admin')
  expectNothingUnsafe(watched)
  await context.close()
}, TEST_TIMEOUT_MS)
