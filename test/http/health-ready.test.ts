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
