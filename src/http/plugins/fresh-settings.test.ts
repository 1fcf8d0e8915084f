import { expect, test } from 'bun:test'
import { Elysia } from 'elysia'
import { freshSettings, type KeepsSettings } from './fresh-settings.ts'

/** A keeper that says whether it is fresh as told, and counts the reads asked of it. */
function keeper(isFresh: boolean | undefined, fails = false) {
  const state = { isFresh, reads: 0 }
  const kept: KeepsSettings & { state: typeof state } = {
    state,
    fresh: async () => {
      state.reads++
      if (fails) throw new Error('database away')
    },
    ...(isFresh === undefined ? {} : { isFresh: () => state.isFresh! }),
  }
  return kept
}

const appWith = (keepers: KeepsSettings[]) => new Elysia().use(freshSettings(keepers)).get('/', () => 'ok')
const ask = async (app: ReturnType<typeof appWith>) => (await app.handle(new Request('http://localhost/'))).text()

test('while every keeper is fresh, a request asks none of them to read', async () => {
  const [a, b] = [keeper(true), keeper(true)]
  const app = appWith([a, b])
  expect(await ask(app)).toBe('ok')
  expect([a.state.reads, b.state.reads]).toEqual([0, 0])
})

test('one stale keeper, or one that can not tell, has every keeper brought up to date first', async () => {
  for (const other of [keeper(false), keeper(undefined)]) {
    const fresh = keeper(true)
    const app = appWith([fresh, other])
    expect(await ask(app)).toBe('ok')
    expect([fresh.state.reads, other.state.reads]).toEqual([1, 1])
  }
})

test('a keeper whose read fails leaves the request to go on with what is in effect', async () => {
  const failing = keeper(false, true)
  expect(await ask(appWith([failing]))).toBe('ok')
  expect(failing.state.reads).toBe(1)
})
