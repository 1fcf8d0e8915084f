/**
 * Any sequence of what two kinds of client do to one chat, the Enclave page over the socket
 * (`chat:send` under any message, the selected leaf or a new root; `chat:regenerate`; `chat:select`)
 * and an Open WebUI client over REST (ask, edit a question, switch branch, rewrite an answer, save
 * unchanged: whole-chat saves of what it last read; delete a message), leaves the stored tree equal
 * to a model the test keeps: ids, parents, children, roles, content, done and the selected leaf.
 * No save is answered 2xx having dropped anything: the model would then differ.
 */
import { afterAll, beforeAll, expect, test } from 'bun:test'
import fc from 'fast-check'
import type { UserId } from '../../src/db/ids.ts'
import { startFakeOllama, type FakeOllama } from '../fakes/ollama.ts'
import { bearer, signUpAdminAndUser } from '../helpers/accounts.ts'
import { req, startTestApp } from '../helpers/test-app.ts'
import { socketPool, type TestSocket } from '../helpers/ws.ts'

const MODEL = 'qwen2.5:0.5b'
const CHATS = '/api/v1/chats'

let fake: FakeOllama
let started: ReturnType<typeof startTestApp>
let url: string
let ada: { id: UserId; token: string }
const sockets = socketPool(() => url)

beforeAll(async () => {
  fake = await startFakeOllama({ behaviour: { chunkDelayMs: 0 } })
  started = startTestApp({ OLLAMA_BASE_URL: fake.url, ENABLE_TITLE_GENERATION: 'false', WEBSOCKET_RATE_LIMIT: '100000/1s' })
  ;({ ada } = await signUpAdminAndUser(started.app))
  started.app.listen({ hostname: '127.0.0.1', port: 0 })
  url = `ws://127.0.0.1:${started.app.server!.port}/api/ws`
})

afterAll(async () => {
  sockets.closeAll()
  await started.app.stop(true)
  await fake.stop()
})

/** A message as the test expects it, and as GET /api/v1/chats/{id} shows it once projected. */
type Node = { id: string; parentId: string | null; childrenIds: string[]; role: string; content: string; done: boolean | null }
type Model = { messages: Map<string, Node>; currentId: string | null }
type WireMessage = Record<string, unknown> & { id: string; parentId: string | null; childrenIds: string[]; role: string; content: string; done?: boolean }
type WireChat = { chat: { history: { messages: Record<string, WireMessage>; currentId: string | null }; messages: WireMessage[] } }

type Op =
  | { kind: 'send'; under: 'leaf' | 'root' | number; text: string }
  | { kind: 'regenerate'; pick: number }
  | { kind: 'select'; pick: number }
  | { kind: 'ask'; text: string }
  | { kind: 'edit'; pick: number; text: string }
  | { kind: 'switch'; pick: number }
  | { kind: 'rewrite'; pick: number; text: string }
  | { kind: 'delete'; pick: number }
  | { kind: 'resave' }

const text = fc.string({ minLength: 1, maxLength: 30, unit: 'grapheme' })
const pick = fc.nat()
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('send' as const), under: fc.oneof(fc.constant('leaf' as const), fc.constant('root' as const), pick), text }),
  fc.record({ kind: fc.constant('regenerate' as const), pick }),
  fc.record({ kind: fc.constant('select' as const), pick }),
  fc.record({ kind: fc.constant('ask' as const), text }),
  fc.record({ kind: fc.constant('edit' as const), pick, text }),
  fc.record({ kind: fc.constant('switch' as const), pick }),
  fc.record({ kind: fc.constant('rewrite' as const), pick, text }),
  fc.record({ kind: fc.constant('delete' as const), pick }),
  fc.constant({ kind: 'resave' as const }),
)

const chosen = <T>(list: T[], at: number): T | undefined => (list.length === 0 ? undefined : list[at % list.length])
const idsOf = (model: Model, role?: string) => [...model.messages.values()].filter((node) => role === undefined || node.role === role).map((node) => node.id)

/** The fake Ollama's answer: the question's words, one space apart. */
const answerTo = (question: string) => {
  const words = question.split(/\s+/).filter((word) => word !== '')
  return words.length > 0 ? words.join(' ') : '(silence)'
}

function addNode(model: Model, node: Omit<Node, 'childrenIds'>): void {
  model.messages.set(node.id, { ...node, childrenIds: [] })
  if (node.parentId !== null) model.messages.get(node.parentId)!.childrenIds.push(node.id)
  model.currentId = node.id
}

/** Open WebUI's branch switch, and the server's choice after a delete: the newest leaf under `id`. */
function newestLeafUnder(model: Model, id: string): string {
  let at = model.messages.get(id)!
  while (at.childrenIds.length > 0) at = model.messages.get(at.childrenIds.at(-1)!)!
  return at.id
}

/**
 * Open WebUI's delete (Messages.svelte, deleteMessage): the message and its direct children go, their
 * children move up under its parent (roots when it had none), siblings kept in the order they were made.
 */
function deleteInModel(model: Model, id: string): void {
  const made = [...model.messages.keys()]
  const target = model.messages.get(id)!
  const doomed = [id, ...target.childrenIds]
  const moved = target.childrenIds.flatMap((child) => model.messages.get(child)!.childrenIds)
  const wasSelected = doomed.includes(model.currentId ?? '')
  for (const gone of doomed) model.messages.delete(gone)
  for (const child of moved) model.messages.get(child)!.parentId = target.parentId
  if (target.parentId !== null) {
    const parent = model.messages.get(target.parentId)!
    parent.childrenIds = [...parent.childrenIds.filter((child) => child !== id), ...moved].sort((a, b) => made.indexOf(a) - made.indexOf(b))
  }
  if (!wasSelected) return
  if (target.parentId !== null) return void (model.currentId = newestLeafUnder(model, target.parentId))
  const roots = [...model.messages.values()].filter((node) => node.parentId === null)
  model.currentId = roots.length === 0 ? null : newestLeafUnder(model, roots.at(-1)!.id)
}

const headers = () => bearer(ada.token)

async function readChat(chatId: string): Promise<WireChat['chat']> {
  const res = await started.app.handle(req('GET', `${CHATS}/${chatId}`, undefined, headers()))
  expect(res.status).toBe(200)
  return ((await res.json()) as WireChat).chat
}

function pathIds(messages: Record<string, { parentId: string | null }>, leaf: string | null): string[] {
  const ids: string[] = []
  for (let at = leaf; at !== null; at = messages[at]!.parentId) ids.unshift(at)
  return ids
}

/** The chat as the model says it is, in the projection compared. */
function expected(model: Model) {
  const messages = Object.fromEntries([...model.messages.values()].map((node) => [node.id, { ...node, childrenIds: [...node.childrenIds] }]))
  return { messages, currentId: model.currentId, path: pathIds(messages, model.currentId) }
}

function projected(chat: WireChat['chat']) {
  const messages = Object.fromEntries(Object.values(chat.history.messages).map((message) => [message.id, {
    id: message.id, parentId: message.parentId, childrenIds: message.childrenIds, role: message.role, content: message.content, done: message.done ?? null,
  }]))
  return { messages, currentId: chat.history.currentId, path: chat.messages.map((message) => message.id) }
}

/** A whole-chat save as Open WebUI's page makes it: what it last read, with the model's changes over it. */
async function save(chatId: string, model: Model, read: WireChat['chat']): Promise<void> {
  const messages: Record<string, WireMessage> = {}
  for (const node of model.messages.values()) {
    const kept = read.history.messages[node.id] ?? { timestamp: 1_750_000_000, ...(node.role === 'assistant' ? { model: MODEL } : {}) }
    const { done, ...fields } = node
    messages[node.id] = { ...kept, ...fields, childrenIds: [...node.childrenIds], ...(done === null ? {} : { done }) }
  }
  const history = { messages, currentId: model.currentId }
  const body = { chat: { models: [MODEL], history, messages: pathIds(messages, model.currentId).map((id) => messages[id]!) } }
  const res = await started.app.handle(req('POST', `${CHATS}/${chatId}`, body, headers()))
  expect(res.status).toBe(200)
}

/** Sends a turn and waits for its end; fails on a refusal. */
async function turn(socket: TestSocket, frame: object): Promise<{ question: string; answer: string }> {
  socket.send(frame)
  const begun = await socket.nextFrame((entry) => entry.type === 'chat:started' || entry.type === 'error', 5_000)
  if (begun.type === 'error') throw new Error(`refused: ${JSON.stringify(begun)} for ${JSON.stringify(frame)}`)
  const end = await socket.nextFrame((entry) => (entry.type === 'chat:done' || entry.type === 'chat:error') && entry.messageId === begun.messageId, 5_000)
  expect(end.type).toBe('chat:done')
  return { question: String(begun.parentId), answer: String(end.storedMessageUid) }
}

async function apply(socket: TestSocket, chatId: string, model: Model, step: Op): Promise<void> {
  switch (step.kind) {
    case 'send': {
      const parentId = step.under === 'leaf' ? model.currentId : step.under === 'root' ? null : chosen(idsOf(model), step.under) ?? null
      const named = step.under === 'leaf' ? {} : { parentId }
      const { question, answer } = await turn(socket, { type: 'chat:send', chatId, model: MODEL, content: step.text, ...named })
      addNode(model, { id: question, parentId, role: 'user', content: step.text, done: null })
      addNode(model, { id: answer, parentId: question, role: 'assistant', content: answerTo(step.text), done: true })
      return
    }
    case 'regenerate': {
      const question = chosen(idsOf(model, 'user'), step.pick)
      if (question === undefined) return
      const { answer } = await turn(socket, { type: 'chat:regenerate', chatId, model: MODEL, parentId: question })
      addNode(model, { id: answer, parentId: question, role: 'assistant', content: answerTo(model.messages.get(question)!.content), done: true })
      return
    }
    case 'select': {
      const target = chosen(idsOf(model), step.pick)
      if (target === undefined) return
      socket.send({ type: 'chat:select', chatId, messageId: target })
      // note: frames are handled in order, so the refusal of a select naming nothing tells the one before it is done.
      socket.send({ type: 'chat:select', chatId, messageId: 'fence' })
      await socket.nextFrame((entry) => entry.type === 'error', 5_000).then((entry) => expect(entry.code).toBe('message_not_found'))
      model.currentId = target
      return
    }
    case 'delete': {
      const target = chosen(idsOf(model), step.pick)
      if (target === undefined) return
      const res = await started.app.handle(req('DELETE', `${CHATS}/${chatId}/messages/${target}`, undefined, headers()))
      expect(res.status).toBe(200)
      return deleteInModel(model, target)
    }
    default:
      return await saveAfter(chatId, model, step)
  }
}

/** The REST client's steps: it reads the chat, changes it as Open WebUI's page does, and saves it whole. */
async function saveAfter(chatId: string, model: Model, step: Extract<Op, { kind: 'ask' | 'edit' | 'switch' | 'rewrite' | 'resave' }>): Promise<void> {
  const read = await readChat(chatId)
  const askUnder = (parentId: string | null, content: string) => {
    const question = crypto.randomUUID()
    addNode(model, { id: question, parentId, role: 'user', content, done: null })
    addNode(model, { id: crypto.randomUUID(), parentId: question, role: 'assistant', content: content.toUpperCase(), done: true })
  }
  switch (step.kind) {
    case 'ask':
      askUnder(model.currentId, step.text)
      break
    case 'edit': {
      const question = chosen(idsOf(model, 'user'), step.pick)
      if (question !== undefined) askUnder(model.messages.get(question)!.parentId, step.text)
      break
    }
    case 'switch': {
      const target = chosen(idsOf(model), step.pick)
      if (target !== undefined) model.currentId = newestLeafUnder(model, target)
      break
    }
    case 'rewrite': {
      const target = chosen(idsOf(model, 'assistant'), step.pick)
      if (target !== undefined) model.messages.get(target)!.content = step.text
      break
    }
    case 'resave':
      break
  }
  await save(chatId, model, read)
}

test('any mix of socket turns, regenerates and selects with REST saves, branch switches and deletes leaves the tree equal to the model (fast-check)', async () => {
  const socket = await sockets.socketOf(ada)
  await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 16 }), async (steps) => {
    const created = await started.app.handle(req('POST', `${CHATS}/new`, { chat: { title: 'mixed', history: { messages: {}, currentId: null }, messages: [] } }, headers()))
    expect(created.status).toBe(200)
    const chatId = ((await created.json()) as { id: string }).id
    const model: Model = { messages: new Map(), currentId: null }
    for (const step of steps) {
      await apply(socket, chatId, model, step)
      expect(projected(await readChat(chatId))).toEqual(expected(model))
    }
  }), { numRuns: 120 })
}, 30_000)
