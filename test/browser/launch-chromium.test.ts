import { afterAll, beforeAll, expect, spyOn, test } from 'bun:test'
import type { Browser } from 'playwright-core'
import { launchChromium } from './launch-chromium.ts'

let browser: Browser
beforeAll(async () => {
  browser = await launchChromium()
})
afterAll(async () => {
  await browser?.close()
})

type Guarded = { _guid: string; _connection: { dispatch(message: object): void } }

test('an event naming an object the client no longer holds is dropped and reported; the browser goes on working', async () => {
  const context = await browser.newContext()
  const { _guid: guid, _connection: connection } = context as unknown as Guarded
  const said = spyOn(console, 'error').mockImplementation(() => {})
  try {
    connection.dispatch({ guid, method: 'response', params: { response: { guid: 'response@00000000000000000000000000000000' } } })
    expect(said.mock.calls.map((call) => String(call[0]))).toEqual([
      'playwright-core dropped a "response" event: Object with guid response@00000000000000000000000000000000 was not bound in the connection',
    ])
  } finally {
    said.mockRestore()
  }
  const page = await context.newPage()
  expect(await page.evaluate(() => 6 * 7)).toBe(42)
  await context.close()
})

test('any other failure in the dispatcher still throws', async () => {
  const context = await browser.newContext()
  const { _guid: guid, _connection: connection } = context as unknown as Guarded
  expect(() => connection.dispatch({ guid: 'context@unknown', method: 'close', params: {} })).toThrow('Cannot find object')
  expect(() => connection.dispatch({ guid, method: 'no-such-event', params: {} })).toThrow()
  await context.close()
})
