/**
 * The frames of the chat socket (/api/ws): JSON text, each an object with a `type`. Clients send
 * `chat:send`, `chat:cancel` and `chat:resume`, one TypeBox schema each; the server answers with
 * the ServerFrame types below. `parseClientFrame` is the one place a client frame is checked.
 */
import { Type } from '@sinclair/typebox'
import { TypeCompiler } from '@sinclair/typebox/compiler'
import { t, type Static } from 'elysia'
import type { ChatStats } from './ollama-client.ts'

/** Starts a turn: the user's message to `model`, in a new chat when `chatId` is absent. */
export const ChatSendFrame = t.Object({
  type: t.Literal('chat:send'),
  chatId: t.Optional(t.String({ maxLength: 64 })),
  model: t.String({ minLength: 1, maxLength: 200 }),
  content: t.String({ maxLength: 1_000_000 }),
  images: t.Optional(t.Array(t.String(), { maxItems: 16 })),
  options: t.Optional(t.Record(t.String(), t.Unknown())),
})

/** Stops a live answer; what arrived so far is stored. `messageId` is the live-stream id. */
export const ChatCancelFrame = t.Object({ type: t.Literal('chat:cancel'), messageId: t.String({ maxLength: 64 }) })

/** Asks for a live (or just finished) answer's deltas from `index` on, then the rest as it comes. */
export const ChatResumeFrame = t.Object({
  type: t.Literal('chat:resume'),
  messageId: t.String({ maxLength: 64 }),
  // note: TypeBox's own Integer; Elysia's t.Integer also accepts digit strings, which would reach
  // the resume arithmetic as text.
  index: Type.Integer({ minimum: 0 }),
})

const schemas = {
  'chat:send': TypeCompiler.Compile(ChatSendFrame),
  'chat:cancel': TypeCompiler.Compile(ChatCancelFrame),
  'chat:resume': TypeCompiler.Compile(ChatResumeFrame),
}

export type ClientFrame = Static<typeof ChatSendFrame> | Static<typeof ChatCancelFrame> | Static<typeof ChatResumeFrame>
export type ChatSend = Static<typeof ChatSendFrame>

/** Why a frame was refused, or a turn could not start; clients switch on it. */
export type FrameErrorCode =
  | 'invalid_json' | 'unknown_type' | 'invalid_frame' | 'rate_limited'
  | 'chat_not_found' | 'stream_not_found' | 'too_many_answers' | 'internal_error'

/** What the server sends. `messageId` is the live-stream id; `storedMessageId` the stored message's. */
export type ServerFrame =
  | { type: 'error'; code: FrameErrorCode; message: string }
  | { type: 'chat:started'; chatId: string; userMessageId: number; messageId: string; model: string }
  | { type: 'chat:delta'; chatId: string; messageId: string; index: number; content: string }
  | { type: 'chat:done'; chatId: string; messageId: string; storedMessageId: number; cancelled: boolean; stats: TurnStats }
  | { type: 'chat:error'; chatId: string; messageId: string; code: string; message: string }
  | { type: 'chat:title'; chatId: string; title: string }
  | { type: 'model:pull'; name: string; connection: number; status: string; total?: number; completed?: number; error?: string }

/** Ollama's statistics for the answer, or `{ cancelled: true }` for one cut short. */
export type TurnStats = (ChatStats & { cancelled?: false }) | { cancelled: true }

export type FrameCheck = { ok: true; frame: ClientFrame } | { ok: false; code: FrameErrorCode; message: string }

/**
 * Checks a message as Elysia hands it over: a parsed JSON value, or the raw text when it was not
 * JSON. Only an object whose `type` is known and whose fields match that type's schema passes.
 */
export function parseClientFrame(value: unknown): FrameCheck {
  if (typeof value === 'string' || value instanceof Uint8Array || value instanceof ArrayBuffer) {
    return { ok: false, code: 'invalid_json', message: 'A frame must be a JSON object.' }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'invalid_frame', message: 'A frame must be a JSON object with a type.' }
  }
  const type = (value as { type?: unknown }).type
  if (typeof type !== 'string' || !Object.hasOwn(schemas, type)) {
    return { ok: false, code: 'unknown_type', message: 'This frame type is not known.' }
  }
  if (!schemas[type as keyof typeof schemas].Check(value)) {
    return { ok: false, code: 'invalid_frame', message: `This ${type} frame is not in the expected shape.` }
  }
  return { ok: true, frame: value as ClientFrame }
}
