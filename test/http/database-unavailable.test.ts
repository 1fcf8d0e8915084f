import { afterAll, beforeAll, expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { createPostgresEngine } from '../../src/db/postgres-engine.ts'
import type { SqlEngine } from '../../src/db/engine.ts'
import { httpErrors } from '../../src/http/http-error.ts'
import { createLogger } from '../../src/log/logger.ts'
import { startPostgres, type PostgresServer } from '../helpers/postgres.ts'

let server: PostgresServer
let sql: SqlEngine
const lines: string[] = []
let app: { handle: (request: Request) => Promise<Response> }

beforeAll(async () => {
  server = await startPostgres()
  sql = createPostgresEngine({ url: await server.createDatabase(), pool: { maxConnections: 2, idleTimeoutSeconds: 0, connectionTimeoutSeconds: 5, maxLifetimeSeconds: 0 } })
  await sql.exec('CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)')
  app = new Elysia()
    .use(httpErrors(createLogger('DEBUG', (line) => void lines.push(line))))
    .post('/api/v1/notes', async () => sql.run('INSERT INTO note (id, body) VALUES (?, ?)', 1, 'private words'))
    .post('/api/chat/completions', async () => sql.get('SELECT body FROM note WHERE body = ?', 'private words'))
    .get('/api/v1/notes', async () => sql.all('SELECT id FROM note'))
}, 60_000)
afterAll(async () => {
  await sql.close()
  await server.remove()
})

test('a lost database answers 503 with a clear message, and the next request after it is back succeeds', async () => {
  await server.stop()
  const res = await app.handle(new Request('http://localhost/api/v1/notes', { method: 'POST' }))
  expect(res.status).toBe(503)
  expect(await res.json()).toEqual({ detail: 'The database is unavailable right now. Nothing was saved; try again in a moment.', code: 'database_unavailable' })

  const openAi = await app.handle(new Request('http://localhost/api/chat/completions', { method: 'POST' }))
  expect(openAi.status).toBe(503)
  expect(await openAi.json()).toEqual({ error: { message: expect.stringContaining('unavailable'), type: 'api_error', code: 'database_unavailable' } })

  const log = lines.join('')
  expect(log).toContain('database unavailable')
  for (const leak of ['private words', 'INSERT', 'SELECT', server.appPassword]) expect(log).not.toContain(leak)

  await server.restart()
  const back = await app.handle(new Request('http://localhost/api/v1/notes'))
  expect(back.status).toBe(200)
  expect(await back.json()).toEqual([])
})
