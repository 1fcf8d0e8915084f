/**
 * Upgrading to model grants takes nothing away, against the binary: a database that had accounts
 * before grants existed (the migration marks it pending; src/auth/model-access.test.ts runs the
 * migration itself) makes the models Ollama lists public at the first start, says so in the log
 * and on the admin page, and a model pulled afterwards is for admins only until granted.
 */
import { afterAll, expect, test } from 'bun:test'
import { Database } from 'bun:sqlite'
import { join } from 'node:path'
import { startFakeOllama } from '../fakes/ollama.ts'
import { bearer, signUp } from '../helpers/accounts.ts'
import { binaryAppStarter } from '../helpers/binary-app.ts'
import { req } from '../helpers/test-app.ts'

const startApp = binaryAppStarter()
const ollama = await startFakeOllama()
afterAll(() => ollama.stop())

test('models that existed stay public after the upgrade; the log and the admin page say which; a new model is admins only', async () => {
  const env = { OLLAMA_BASE_URL: ollama.url, BYPASS_MODEL_ACCESS_CONTROL: 'false', DEFAULT_USER_ROLE: 'user', ENABLE_TITLE_GENERATION: 'false' }
  const started = await startApp(env)
  await signUp(started.app, 'admin@example.com')
  const user = await signUp(started.app, 'user@example.com')
  const listed = async () => ((await (await started.app.handle(req('GET', '/api/models', undefined, bearer(user.token)))).json()) as { data: { id: string }[] }).data.map((model) => model.id).sort()
  // note: a new installation: nothing granted yet.
  expect(await listed()).toEqual([])

  // note: as the migration leaves a database that had accounts before schema 9: pending, no grant.
  await started.server().stop()
  const db = new Database(join(started.cwd, 'data', 'enclave.db'))
  db.run('UPDATE model_grant_upgrade SET pending = 1')
  db.run('DELETE FROM model_grant')
  db.close()
  await started.restart()

  const admins = bearer((await (await started.app.handle(req('POST', '/api/v1/auths/signin', { email: 'admin@example.com', password: 'correct horse battery' }))).json() as { token: string }).token)
  const users = bearer((await (await started.app.handle(req('POST', '/api/v1/auths/signin', { email: 'user@example.com', password: 'correct horse battery' }))).json() as { token: string }).token)
  const models = async () => ((await (await started.app.handle(req('GET', '/api/models', undefined, users))).json()) as { data: { id: string }[] }).data.map((model) => model.id).sort()
  expect(await models()).toEqual(['llama3.2:1b', 'qwen2.5:0.5b'])
  const deadline = Date.now() + 5_000
  while (!started.server().output().includes('existed before this upgrade') && Date.now() < deadline) await Bun.sleep(50)
  expect(started.server().output()).toContain('Model access control is on: the 2 model(s) that existed before this upgrade stay usable by every user')
  const page = (await (await started.app.handle(req('GET', '/api/v1/models/access', undefined, admins))).json()) as { upgrade: { pending: boolean; made_public: string[] }; models: { id: string; access_control: unknown }[] }
  expect(page.upgrade).toMatchObject({ pending: false, made_public: ['llama3.2:1b', 'qwen2.5:0.5b'] })
  expect(page.models.map((model) => model.access_control)).toEqual([null, null])

  const pulled = await started.app.handle(req('POST', '/api/v1/ollama/pull', { name: 'mistral:7b' }, admins))
  expect(pulled.status).toBe(200)
  await pulled.text()
  // note: a finished pull drops the cached model list, so the next listing asks Ollama again.
  expect(await models()).toEqual(['llama3.2:1b', 'qwen2.5:0.5b'])
  const adminModels = ((await (await started.app.handle(req('GET', '/api/models', undefined, admins))).json()) as { data: { id: string }[] }).data.map((model) => model.id)
  expect(adminModels).toContain('mistral:7b')
}, 30_000)
