/**
 * The frames of the chat socket (/api/ws): JSON text, each an object with a `type`. Clients send
 * `chat:send`, `chat:regenerate`, `chat:select`, `chat:cancel` and `chat:resume`, one TypeBox
 * schema each; the server answers with the ServerFrame types below. `parseClientFrame` is the one
 * place a client frame is checked. Message ids in frames that name a stored message (`parentId`,
 * `currentId`, `chat:select`'s `messageId`) are the ids clients see (Open WebUI's, the REST API's).
 */
import { Type, type TSchema } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { t, type Static } from 'elysia'
import { CHAT_LIMITS } from '../db/chat-tree.ts'
import { ModelOptionsSchema } from './model-options.ts'
import type { ChatStats } from './ollama-client.ts'

/** A stored message's id as clients see it (chat-tree.ts MESSAGE_UID_PATTERN). */
const MessageUid = t.String({ pattern: '^[A-Za-z0-9_.:-]{1,128}$' })
const ChatIdField = t.String({ maxLength: 64 })
const Model = t.String({ minLength: 1, maxLength: CHAT_LIMITS.modelChars })
/** The chat's system prompt and model parameters: given, they are stored with the chat and apply to every later turn. */
const TurnSettings = {
  system: t.Optional(t.String({ maxLength: CHAT_LIMITS.systemChars })),
  options: t.Optional(ModelOptionsSchema),
}

/**
 * Starts a turn: the user's message to `model`, in a new chat when `chatId` is absent. The message
 * goes under `parentId` (null: a new root, as editing the first message does; absent: the chat's
 * selected leaf), so an edit is a new message under the edited one's parent.
 */
export const ChatSendFrame = t.Object({
  type: t.Literal('chat:send'),
  chatId: t.Optional(ChatIdField),
  parentId: t.Optional(t.Nullable(MessageUid)),
  model: Model,
  content: t.String({ maxLength: 1_000_000 }),
  images: t.Optional(t.Array(t.String(), { maxItems: 16 })),
  /**
   * What the message attaches: the user's uploaded files (/api/v1/files) by id, or Open WebUI's
   * `files` entries (`{ type: 'file' | 'image' | 'collection', id, ... }`, other fields ignored).
   * Images go to the model; documents and knowledge bases (`collection`) put their passages that
   * best match the question into the prompt; every entry is referenced by the message.
   */
  files: t.Optional(t.Array(t.Union([
    t.String({ maxLength: 64 }),
    t.Object({ type: t.Optional(t.Union([t.Literal('file'), t.Literal('image'), t.Literal('collection')])), id: t.String({ minLength: 1, maxLength: 128 }) }),
  ]), { maxItems: 64 })),
  ...TurnSettings,
})

/** Asks again: a new answer from `model` under the user message `parentId`, a sibling of its earlier answers. */
export const ChatRegenerateFrame = t.Object({
  type: t.Literal('chat:regenerate'),
  chatId: ChatIdField,
  parentId: MessageUid,
  model: Model,
  ...TurnSettings,
})

/** Selects the branch the chat shows: `messageId` becomes its current leaf. */
export const ChatSelectFrame = t.Object({ type: t.Literal('chat:select'), chatId: ChatIdField, messageId: MessageUid })

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

const frameSchemas = {
  'chat:send': ChatSendFrame,
  'chat:regenerate': ChatRegenerateFrame,
  'chat:select': ChatSelectFrame,
  'chat:cancel': ChatCancelFrame,
  'chat:resume': ChatResumeFrame,
}
// note: compiled at the first frame of each type, not when the module loads; `chat:send`'s during the app's build (compileSendCheck).
const compiledFrameChecks = new Map<keyof typeof frameSchemas, TypeCheck<TSchema>>()
function frameCheckOf(type: keyof typeof frameSchemas): TypeCheck<TSchema> {
  let check = compiledFrameChecks.get(type)
  if (check === undefined) compiledFrameChecks.set(type, (check = TypeCompiler.Compile(frameSchemas[type])))
  return check
}

/** A `chat:send` frame of the usual shape (nothing of anyone's), that the check compiled ahead runs on once. */
const SAMPLE_SEND = { type: 'chat:send', chatId: 'sample', parentId: null, model: 'sample:latest', content: 'A sample question.', options: { temperature: 0.7 } }

/**
 * Compiles the `chat:send` check ahead of its first frame (a step of a start's readying of a turn before the app is built, prepare-app.ts),
 * and runs it once on a sample frame.
 * note: at a returning client's first frame it took 1.3-1.5 ms of the 4-5 ms its first turn spent on the server
 * (the compiled binary, timestamps at each step, listen + 6 ms); the other types stay compiled at their first frame.
 * Compiled but never run, its first check still took 0.19-0.26 ms against 0.01 after a warm-up (five starts).
 */
export function compileSendCheck(): void {
  parseClientFrame(SAMPLE_SEND)
}

export type ChatSend = Static<typeof ChatSendFrame>
export type ChatRegenerate = Static<typeof ChatRegenerateFrame>
export type ClientFrame = ChatSend | ChatRegenerate | Static<typeof ChatSelectFrame> | Static<typeof ChatCancelFrame> | Static<typeof ChatResumeFrame>

/** Why a frame was refused, or a turn could not start; clients switch on it. */
export type FrameErrorCode =
  | 'invalid_json' | 'unknown_type' | 'invalid_frame' | 'rate_limited'
  | 'chat_not_found' | 'message_not_found' | 'stream_not_found' | 'too_many_answers' | 'internal_error' | 'model_not_found'
  | 'file_not_found' | 'too_many_files' | 'image_too_large' | 'model_without_vision' | 'retrieval_unavailable' | 'database_unavailable'

/**
 * What the server sends. `messageId` is the live-stream id; `userMessageId` and `storedMessageId`
 * are stored messages' internal ids, `parentId`, `storedMessageUid` and `currentId` their ids as
 * clients see them: `parentId` is the user message the answer replies to, `currentId` the chat's
 * selected leaf. `chat:current` tells every socket of the user that a chat's selected leaf moved;
 * `chat:changed` that a chat's messages changed outside the socket (an answer asked for through
 * /api/chat/completions), so a tab showing it reads it again.
 */
export type ServerFrame =
  | { type: 'error'; code: FrameErrorCode; message: string }
  | { type: 'chat:started'; chatId: string; userMessageId: number; parentId: string; currentId: string; messageId: string; model: string; regenerate: boolean }
  | { type: 'chat:delta'; chatId: string; messageId: string; index: number; content: string }
  // note: `sources` (Open WebUI's shape: which passages of which file the answer was given) only when retrieval found some.
  | { type: 'chat:done'; chatId: string; messageId: string; storedMessageId: number; storedMessageUid: string; parentId: string; cancelled: boolean; stats: TurnStats; sources?: unknown[] }
  | { type: 'chat:error'; chatId: string; messageId: string; code: string; message: string }
  | { type: 'chat:current'; chatId: string; currentId: string | null }
  | { type: 'chat:changed'; chatId: string }
  | { type: 'chat:title'; chatId: string; title: string }
  | { type: 'model:pull'; name: string; connection: number; status: string; total?: number; completed?: number; error?: string }
  // note: a document being read and embedded: `done` of `total` chunks, then `ready` or `failed` with the reason.
  | { type: 'file:progress'; fileId: string; stage: 'extracting' | 'embedding' | 'ready' | 'failed'; done?: number; total?: number; reason?: string }

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
  if (typeof type !== 'string' || !Object.hasOwn(frameSchemas, type)) {
    return { ok: false, code: 'unknown_type', message: 'This frame type is not known.' }
  }
  if (!frameCheckOf(type as keyof typeof frameSchemas).Check(value)) {
    return { ok: false, code: 'invalid_frame', message: `This ${type} frame is not in the expected shape.` }
  }
  return { ok: true, frame: value as ClientFrame }
}
