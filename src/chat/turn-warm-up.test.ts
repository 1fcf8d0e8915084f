import { expect, test } from 'bun:test'
import { warmChatTurn } from './turn-warm-up.ts'

test('the chat turn warm-up runs the turn\'s code to its end without a network or a store', async () => {
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
