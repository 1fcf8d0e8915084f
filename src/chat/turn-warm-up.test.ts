import { expect, test } from 'bun:test'
import { warmChatTurn } from './turn-warm-up.ts'

test('the chat turn warm-up runs whole turns to their end, in a store of its own, without the network', async () => {
  const fetched: string[] = []
  const original = globalThis.fetch
  globalThis.fetch = (async (input: RequestInfo | URL) => { fetched.push(String(input)); return new Response('') }) as typeof fetch
  try {
    expect(await warmChatTurn()).toBe(true)
  } finally {
    globalThis.fetch = original
  }
  expect(fetched).toEqual([])
})
