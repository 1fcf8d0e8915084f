/**
 * The /api/chat body joined from kept message bytes (chat-request-body.ts) against the UTF-8 of the
 * whole body serialised at once from the same chat read without the history cache: byte-identical
 * across random appends (any parent: a new branch), rewrites, deleted branches, images, text outside
 * ASCII and the window's bound.
 */
import { describe, expect, test } from 'bun:test'
import fc from 'fast-check'
import { createChatRepo } from '../db/chats.ts'
import type { ChatId, UserId } from '../db/ids.ts'
import { openMemoryStore } from '../db/open-store.ts'
import { chatRequestBody, messageBytes } from './chat-request-body.ts'
import { boundHistory } from './history-bound.ts'
import type { ChatMessage } from './ollama-client.ts'
import { modelForm, placeTurn, type TurnRequest } from './turn-place.ts'

const MODEL = 'body:latest'

/** What fetch sent for the body as one JSON text: its UTF-8. */
const utf8 = (text: string) => new Uint8Array(Buffer.from(text, 'utf8'))
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

describe('chat request body', () => {
  test('joined bytes equal the UTF-8 of JSON.stringify of the body, with and without options', () => {
    const messages: ChatMessage[] = [{ role: 'system', content: 'be "brief"\n' }, Object.freeze({ role: 'user' as const, content: 'hi ✓ \u2028 \ud800 😀 é' }), { role: 'user', content: 'x', images: ['aGk='] }]
    for (const rest of [{ stream: true }, { options: { num_ctx: 8, temperature: -0 }, format: 'json', stream: true }, {}]) {
      for (const model of ['m"o\\del', 'modèle✓']) {
        expect(chatRequestBody(model, messages, rest)).toEqual(utf8(JSON.stringify({ model, messages, ...rest })))
        expect(chatRequestBody(model, messages.slice(0, 1), rest)).toEqual(utf8(JSON.stringify({ model, messages: messages.slice(0, 1), ...rest })))
        expect(chatRequestBody(model, [], rest)).toEqual(utf8(JSON.stringify({ model, messages: [], ...rest })))
      }
    }
  })

  test('joined bytes equal the UTF-8 of the whole text for any message text (property)', () => {
    const message = fc.record({ role: fc.constantFrom('system' as const, 'user' as const, 'assistant' as const), content: fc.string({ unit: 'binary' }), frozen: fc.boolean() })
    fc.assert(fc.property(fc.array(message, { maxLength: 12 }), fc.string({ unit: 'binary' }), (drawn, model) => {
      const messages = drawn.map(({ role, content, frozen }) => (frozen ? Object.freeze({ role, content }) : { role, content }))
      const expected = utf8(JSON.stringify({ model, messages, stream: true }))
      // note: twice, the second from the bytes the first kept.
      expect(chatRequestBody(model, messages, { stream: true })).toEqual(expected)
      expect(chatRequestBody(model, messages, { stream: true })).toEqual(expected)
    }), { numRuns: 300 })
  })

  test('a frozen message keeps its bytes; one that is not frozen is serialised each time', () => {
    const fixed = Object.freeze({ role: 'user' as const, content: 'kept ✓' })
    expect(messageBytes(fixed)).toBe(messageBytes(fixed))
    expect(text(messageBytes(fixed))).toBe('{"role":"user","content":"kept ✓"}')
    // note: a buffer of its own, not a view of a shared pool that one live message would hold whole.
    expect(messageBytes(fixed).buffer.byteLength).toBe(messageBytes(fixed).byteLength)
    const message: ChatMessage = { role: 'user', content: 'before' }
    expect(text(messageBytes(message))).toBe('{"role":"user","content":"before"}')
    message.content = 'after'
    expect(text(messageBytes(message))).toBe('{"role":"user","content":"after"}')
    const images = ['a']
    const frozenOutside = Object.freeze({ role: 'user' as const, content: 'c', images })
    expect(text(messageBytes(frozenOutside))).toBe('{"role":"user","content":"c","images":["a"]}')
    images.push('b')
    expect(text(messageBytes(frozenOutside))).toBe('{"role":"user","content":"c","images":["a","b"]}')
  })

  test('the body a turn sends from a held chat is the one it would send from the rows (property)', async () => {
    type Op =
      | { kind: 'add'; parent: number; content: string; image: boolean }
      | { kind: 'replace'; target: number; content: string }
      | { kind: 'delete-message'; target: number }
      | { kind: 'turn'; leaf: number; window: number | null }
    const op: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), parent: fc.nat(), content: fc.string(), image: fc.boolean() }),
      fc.record({ kind: fc.constant('replace' as const), target: fc.nat(), content: fc.string() }),
      fc.record({ kind: fc.constant('delete-message' as const), target: fc.nat() }),
      fc.record({ kind: fc.constant('turn' as const), leaf: fc.nat(), window: fc.option(fc.integer({ min: 0, max: 60 })) }),
    )
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
      const store = openMemoryStore(undefined, () => 1_700_000_000_000)
      const created = await store.users.createUser({ email: 'ada@example.com', name: 'Ada', role: 'user' })
      if (!created.ok) throw new Error(created.reason)
      const ada = created.user.id as UserId
      const limits = { maxBytes: 1 << 30, maxBytesPerUser: 1 << 28, idleMs: 60_000 }
      const cached = createChatRepo(store.sql, store.dataKeys, () => 1_700_000_000_000, store.accountChanges, limits)
      const uncached = createChatRepo(store.sql, store.dataKeys, () => 1_700_000_000_000, store.accountChanges, { maxBytes: 0, maxBytesPerUser: 0, idleMs: 0 })
      const chat = await cached.createChat(ada, 'body', [{ role: 'user', content: 'first' }, { role: 'assistant', content: 'answer', model: MODEL }])
      const chatId = chat.id as ChatId
      const turn = (parentId: string): TurnRequest => ({ chatId, model: MODEL, parentId, ask: { content: 'next?', images: null }, system: 'sys', options: undefined })
      for (const step of ops) {
        const all = await cached.listMessagesInChat(ada, chatId)
        const pick = (n: number) => all.length === 0 ? undefined : all[n % all.length]
        if (step.kind === 'add') {
          const parent = pick(step.parent)
          await cached.addMessage(ada, chatId, { role: step.content.length % 2 === 0 ? 'user' : 'assistant', content: step.content, parentId: parent?.id ?? null, ...(step.image ? { images: ['aW1n'] } : {}) })
        }
        if (step.kind === 'replace' && pick(step.target) !== undefined) await cached.replaceMessageContentForUser(ada, chatId, pick(step.target)!.id, { content: step.content })
        if (step.kind === 'delete-message' && pick(step.target) !== undefined) await cached.deleteMessage(ada, chatId, pick(step.target)!.uid)
        if (step.kind !== 'turn' || pick(step.leaf) === undefined) continue
        const leaf = pick(step.leaf)!.uid
        const held = await placeTurn(cached, ada, chatId, turn(leaf))
        const fresh = await placeTurn(uncached, ada, chatId, turn(leaf))
        if (!held.ok || !fresh.ok) throw new Error('turn not placed')
        const rest = { options: { num_ctx: 4 }, stream: true }
        // note: expected as the turn made it before: every message's model form first, then the bound; the turn bounds the held messages and makes the forms of those sent.
        const expected = utf8(JSON.stringify({ model: MODEL, messages: structuredClone(boundHistory(fresh.messages.map(modelForm), step.window)), ...rest }))
        // note: twice, the second from the texts the first kept.
        expect(chatRequestBody(MODEL, boundHistory(held.messages, step.window).map(modelForm), rest)).toEqual(expected)
        const again = await placeTurn(cached, ada, chatId, turn(leaf))
        if (!again.ok) throw new Error('turn not placed')
        // note: the held path's messages (without images, whose arrays the cache does not freeze) are the same objects turn after turn: their texts are reused.
        if (modelForm(held.messages[1]!).images === undefined) expect(modelForm(again.messages[1]!)).toBe(modelForm(held.messages[1]!))
        expect(chatRequestBody(MODEL, boundHistory(again.messages, step.window).map(modelForm), rest)).toEqual(expected)
      }
    }), { numRuns: 60 })
  }, 120_000)
})
