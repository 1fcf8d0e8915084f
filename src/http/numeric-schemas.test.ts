import { describe, expect, test } from 'bun:test'
import { Elysia, t } from 'elysia'
import fc from 'fast-check'
import { BooleanString, Integer, Numeric } from './numeric-schemas.ts'

/** The same routes over Elysia's schemas and over ours: a query, a path parameter and a JSON body field. */
function appOf(numeric: typeof t.Numeric, integer: typeof t.Integer) {
  return new Elysia()
    .get('/q', ({ query }) => ({ query }), { query: t.Object({ page: t.Optional(numeric({ minimum: 1, maximum: 100 })), any: t.Optional(numeric()) }) })
    .get('/p/:index', ({ params }) => ({ params }), { params: t.Object({ index: numeric({ minimum: 0, maximum: 3, multipleOf: 1 }) }) })
    .post('/b', ({ body }) => ({ body }), { body: t.Object({ n: t.Optional(t.Nullable(integer({ minimum: 1 }))), m: t.Optional(integer()) }) })
}

const elysias = appOf(t.Numeric, t.Integer)
const ours = appOf(Numeric, Integer)

async function answer(app: ReturnType<typeof appOf>, request: Request): Promise<[number, string]> {
  const response = await app.handle(request)
  return [response.status, await response.text()]
}

async function same(make: () => Request): Promise<void> {
  expect(await answer(ours, make())).toEqual(await answer(elysias, make()))
}

const valueText = fc.oneof(fc.integer().map(String), fc.double().map(String), fc.constantFrom('', ' ', 'abc', '1e2', '0x10', '-0', '1.5', 'NaN', 'Infinity', '007', '+3', '2 ', '\t4'), fc.string())

describe('numeric schemas compiled on first use', () => {
  test('a query field answers as with Elysia\'s t.Numeric', async () => {
    await fc.assert(fc.asyncProperty(valueText, valueText, async (page, any) => {
      await same(() => new Request(`http://localhost/q?page=${encodeURIComponent(page)}&any=${encodeURIComponent(any)}`))
    }), { numRuns: 300 })
    await same(() => new Request('http://localhost/q'))
  })

  test('a path parameter answers as with Elysia\'s t.Numeric', async () => {
    await fc.assert(fc.asyncProperty(valueText, async (index) => {
      await same(() => new Request(`http://localhost/p/${encodeURIComponent(index)}`))
    }), { numRuns: 300 })
  })

  test('a body field answers as with Elysia\'s t.Integer', async () => {
    const field = fc.oneof(fc.integer(), fc.double(), valueText, fc.constant(null), fc.boolean())
    await fc.assert(fc.asyncProperty(field, field, async (n, m) => {
      await same(() => new Request('http://localhost/b', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ n, m }) }))
    }), { numRuns: 300 })
  })
})

/** The same routes over Elysia's t.BooleanString and ours: query fields and a JSON body field. */
function booleanAppOf(booleanString: typeof t.BooleanString) {
  return new Elysia()
    .get('/q', ({ query }) => ({ query }), { query: t.Object({ pinned: t.Optional(booleanString()), folders: t.Optional(booleanString()) }) })
    .post('/b', ({ body }) => ({ body }), { body: t.Object({ flag: t.Optional(booleanString()), required: booleanString() }) })
}

const elysiaBooleans = booleanAppOf(t.BooleanString)
const ourBooleans = booleanAppOf(BooleanString as typeof t.BooleanString)

async function sameBoolean(make: () => Request): Promise<void> {
  expect(await answer(ourBooleans as unknown as ReturnType<typeof appOf>, make())).toEqual(await answer(elysiaBooleans as unknown as ReturnType<typeof appOf>, make()))
}

const booleanText = fc.oneof(fc.constantFrom('true', 'false', '', 'TRUE', 'True', '1', '0', 'yes', ' true', 'null', 'undefined'), fc.string())

describe('boolean strings compiled on first use', () => {
  test('a query field answers as with Elysia\'s t.BooleanString', async () => {
    await fc.assert(fc.asyncProperty(booleanText, booleanText, async (pinned, folders) => {
      await sameBoolean(() => new Request(`http://localhost/q?pinned=${encodeURIComponent(pinned)}&folders=${encodeURIComponent(folders)}`))
    }), { numRuns: 300 })
    await sameBoolean(() => new Request('http://localhost/q'))
    await sameBoolean(() => new Request('http://localhost/q?pinned'))
    await sameBoolean(() => new Request('http://localhost/q?pinned=true&pinned=false'))
  })

  test('a body field answers as with Elysia\'s t.BooleanString', async () => {
    const field = fc.oneof(fc.boolean(), booleanText, fc.integer(), fc.double(), fc.constant(null), fc.constant(undefined), fc.array(fc.boolean(), { maxLength: 2 }), fc.object({ maxDepth: 1 }))
    await fc.assert(fc.asyncProperty(field, field, async (flag, required) => {
      await sameBoolean(() => new Request('http://localhost/b', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ flag, required }) }))
    }), { numRuns: 300 })
  })
})
