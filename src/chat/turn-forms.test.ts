/**
 * A turn bounds its held messages and makes the model's form of those sent only (turn-place.ts
 * modelForm, chat-turn.ts): what goes to the model must be what forming every message first, then
 * bounding, sent (as the turn did before), byte for byte, with a preset's system prompt or
 * retrieval's put in before the bound, and stored messages of any role, frozen or not, with images.
 */
import { expect, test } from 'bun:test'
import fc from 'fast-check'
import type { Message } from '../db/chat-tree.ts'
import type { ChatId, MessageId, UserId } from '../db/ids.ts'
import type { WorkspaceModel } from '../db/workspace-models.ts'
import { withRetrievedContext } from '../knowledge/chat-retrieval.ts'
import type { Source } from '../knowledge/rag-context.ts'
import { chatRequestBody } from './chat-request-body.ts'
import { boundHistory } from './history-bound.ts'
import type { ChatMessage } from './ollama-client.ts'
import { applyPreset } from './resolve-model.ts'
import { modelForm, type TurnMessage } from './turn-place.ts'

const stored = (id: number, role: Message['role'], content: string, images: unknown[] | null, frozen: boolean): Message => {
  const message: Message = {
    id: id as MessageId, uid: `u${id}`, chatId: 'c' as ChatId, parentId: null, role, model: role === 'assistant' ? 'm' : null, content, images,
    artifacts: null, stats: { tokens: 1 }, status: 'done', error: null, usage: null, sources: null, files: null, extra: { x: 1 }, createdAt: 1,
  }
  return frozen ? Object.freeze(message) : message
}

const preset = (system: string | null): WorkspaceModel => ({
  id: 'p', ownerId: 'o' as UserId, baseModelId: 'm', name: 'p', meta: {}, params: system === null ? {} : { system }, access: null as never, isActive: true, createdAt: 0, updatedAt: 0,
})

const SOURCES: Source[] = [{
  source: { id: 'f', name: 'f', type: 'file' }, document: ['passage'], metadata: [{ file_id: 'f', name: 'f', source: 'f', start_index: 0, chunk: 0 }], distances: [0],
}]

const utf8 = (text: string) => new Uint8Array(Buffer.from(text))

test('the forms of the messages sent, made after the bound, send what forming all then bounding sent (property)', () => {
  const message = fc.record({
    role: fc.constantFrom<Message['role']>('system', 'user', 'assistant'),
    content: fc.oneof(fc.string({ maxLength: 60 }), fc.string({ minLength: 200, maxLength: 900 })),
    images: fc.option(fc.array(fc.oneof(fc.constant('aW1n'), fc.constant(3 as unknown as string)), { maxLength: 2 }), { nil: null }),
    frozen: fc.boolean(),
  })
  fc.assert(fc.property(
    fc.option(fc.string({ minLength: 1, maxLength: 40 }), { nil: null }), fc.array(message, { maxLength: 30 }), fc.string({ maxLength: 30 }),
    fc.option(fc.integer({ min: 1, max: 400 }), { nil: null }), fc.option(fc.string({ minLength: 1, maxLength: 20 }), { nil: null }), fc.boolean(),
    (system, path, ask, window, presetSystem, isRetrieved) => {
      const held: TurnMessage[] = system === null ? [] : [{ role: 'system', content: system }]
      path.forEach((m, i) => held.push(stored(i + 1, m.role, m.content, m.images, m.frozen)))
      held.push(Object.freeze({ role: 'user' as const, content: ask }))
      const retrieve = (messages: ChatMessage[]) => (isRetrieved ? withRetrievedContext('{{CONTEXT}} {{QUERY}}', SOURCES, ask, messages) : messages)
      // note: before: every message formed, then retrieval, the preset and the bound.
      const before = boundHistory(applyPreset(preset(presetSystem), retrieve(held.map(modelForm)), {}).messages, window)
      // note: now: as chat-turn.ts does it.
      const applied = applyPreset(preset(presetSystem), isRetrieved ? retrieve(held.map(modelForm)) : held, {}).messages
      const now = boundHistory(applied, window).map(modelForm)
      const rest = { stream: true }
      expect(chatRequestBody('m', now, rest)).toEqual(utf8(JSON.stringify({ model: 'm', messages: before, ...rest })))
    }), { numRuns: 400 })
})
