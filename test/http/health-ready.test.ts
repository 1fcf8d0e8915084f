/**
 * /health stays Open WebUI's answer without Redis; /health/ready tells a load balancer whether this
 * instance can serve: 200 while the database answers, 503 with a reason (and nothing more) when not.
 */
import { expect, test } from 'bun:test'
import { readinessOf } from '../../src/http/routes/health.ts'
import { req, startTestApp } from '../helpers/test-app.ts'

test('without Redis: /health is {status: true}, /health/ready 200 with the usual headers', async () => {
  const { app } = startTestApp()
  const health = await app.handle(req('GET', '/health'))
  expect(await health.json()).toEqual({ status: true })
  const ready = await app.handle(req('GET', '/health/ready'))
  expect(ready.status).toBe(200)
  expect(await ready.json()).toEqual({ status: true })
  expect(ready.headers.get('x-content-type-options')).toBe('nosniff')
})

test('a database that no longer answers makes /health/ready 503 database_unavailable, /health still 200', async () => {
  const { app, deps } = startTestApp()
  deps.store.close()
  const ready = await app.handle(req('GET', '/health/ready'))
  expect(ready.status).toBe(503)
  expect(await ready.json()).toEqual({ status: false, reason: 'database_unavailable' })
  expect(ready.headers.get('x-content-type-options')).toBe('nosniff')
  expect((await app.handle(req('GET', '/health'))).status).toBe(200)
})

test.each([
  ['Redis up', true, null],
  ['Redis not answering', false, 'redis_unavailable'],
])('readiness with a cluster: %s', async (_, isAnswering, reason) => {
  const { deps } = startTestApp()
  const readiness = readinessOf(deps.store, { states: () => ({ redis: isAnswering ? 'up' : 'down', websocketRedis: null }), isAnswering: async () => isAnswering })
  expect(await readiness.notReadyReason()).toBe(reason as never)
  expect(readiness.redisStates()).toEqual({ redis: isAnswering ? 'up' : 'down', websocketRedis: null })
})

test('on PostgreSQL, /health reports the database as last seen and asks again, in the background, once a second at most', async () => {
  let answers = true
  let queries = 0
  let clock = 0
  const store = { db: null, users: { countUsers: async () => { queries++; if (!answers) throw new Error('down'); return 1 } } }
  const readiness = readinessOf(store as never, null, () => clock)
  expect(readiness.databaseState()).toBe('up')
  await Bun.sleep(0)
  expect(queries).toBe(1)
  answers = false
  clock += 500
  for (let i = 0; i < 100; i++) readiness.databaseState()
  expect(queries).toBe(1)
  clock += 600
  readiness.databaseState()
  await Bun.sleep(0)
  expect(readiness.databaseState()).toBe('down')
  expect(queries).toBe(2)
  expect(await readiness.notReadyReason()).toBe('database_unavailable')
  answers = true
  expect(await readiness.notReadyReason()).toBeNull()
  expect(readiness.databaseState()).toBe('up')
})

test('on SQLite, /health says nothing of the database', () => {
  const { deps } = startTestApp()
  expect(readinessOf(deps.store, null).databaseState()).toBeNull()
})
