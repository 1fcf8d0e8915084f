/**
 * Open WebUI's chat routes under /api/v1/chats, each for the signed-in user's own chats only: an id
 * that is malformed, unknown or someone else's is answered 404 chat_not_found alike, so nobody can
 * learn which chat ids exist. Messages are append-only: an update stores the messages past those
 * already stored and never rewrites earlier ones.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Principal } from '../../auth/principal.ts'
import type { AddressList } from '../../config/network.ts'
import { ALL_ROWS, type Chat, type Message, type NewMessage } from '../../db/chats.ts'
import { parseChatId, type UserId } from '../../db/ids.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'

/** Open WebUI asks for chat lists in pages of 60. */
const OPEN_WEBUI_PAGE_SIZE = 60
const DEFAULT_TITLE = 'New Chat'

const Title = t.String({ maxLength: 1000 })
const IncomingMessage = t.Object({
  role: t.Union([t.Literal('system'), t.Literal('user'), t.Literal('assistant')]),
  content: t.String({ maxLength: 1_000_000 }),
  model: t.Optional(t.Nullable(t.String({ maxLength: 200 }))),
  images: t.Optional(t.Nullable(t.Array(t.String(), { maxItems: 16 }))),
})
const ChatBody = t.Object({
  chat: t.Object({ title: t.Optional(Title), messages: t.Optional(t.Array(IncomingMessage, { maxItems: 10_000 })) }),
})
const ChatParams = t.Object({ id: t.String() })
const PageQuery = t.Object({
  page: t.Optional(t.Numeric({ minimum: 1, maximum: 1_000_000 })),
  limit: t.Optional(t.Numeric({ minimum: 1, maximum: 100 })),
})
const SearchQuery = t.Object({ ...PageQuery.properties, text: t.Optional(t.String({ maxLength: 500 })) })

type Incoming = typeof IncomingMessage.static

// note: Elysia's normalisation turns any value into {} where the schema has an all-optional object,
// before validating; this keeps `{ chat: 5 }` a 422 instead of an empty chat.
const requireChatObject = ({ body }: { body: unknown }) => {
  const chat = (body as { chat?: unknown } | null)?.chat
  if (typeof chat !== 'object' || chat === null || Array.isArray(chat)) {
    throw new HttpError(422, 'invalid_request', 'The request is not in the expected shape.')
  }
}

const chatNotFound = () => new HttpError(404, 'chat_not_found', 'Chat not found.')
const seconds = (ms: number) => Math.floor(ms / 1000)
const titleOrDefault = (title: string | undefined) => (title === undefined || title.trim() === '' ? DEFAULT_TITLE : title)
const isPaged = (query: { page?: number; limit?: number }) => query.page !== undefined || query.limit !== undefined
const pageOf = (query: { page?: number; limit?: number }) => {
  const limit = query.limit ?? OPEN_WEBUI_PAGE_SIZE
  return { limit, offset: ((query.page ?? 1) - 1) * limit }
}
const toNewMessage = ({ role, content, model, images }: Incoming): NewMessage =>
  ({ role, content, model: model ?? null, images: images ?? null })

/** A chat as Open WebUI lists it. */
const describeChatSummary = (chat: Chat) => ({
  id: chat.id, title: chat.title, updated_at: seconds(chat.updatedAt), created_at: seconds(chat.createdAt),
  pinned: chat.pinned, archived: chat.archived,
})

/** A chat as Open WebUI opens it: the messages in order, and the same messages as its history tree. */
export function describeChat(chat: Chat, messages: readonly Message[]) {
  const children = new Map<number, string[]>()
  for (const message of messages) {
    if (message.parentId !== null) children.set(message.parentId, [...(children.get(message.parentId) ?? []), String(message.id)])
  }
  const described = messages.map((message) => ({
    id: String(message.id),
    parentId: message.parentId === null ? null : String(message.parentId),
    childrenIds: children.get(message.id) ?? [],
    role: message.role,
    content: message.content,
    model: message.model,
    ...(message.images === null ? {} : { images: message.images }),
    timestamp: seconds(message.createdAt),
  }))
  return {
    id: chat.id, user_id: chat.userId, title: chat.title,
    chat: {
      id: chat.id, title: chat.title, messages: described,
      history: { currentId: described.at(-1)?.id ?? null, messages: Object.fromEntries(described.map((message) => [message.id, message])) },
      timestamp: chat.createdAt,
    },
    updated_at: seconds(chat.updatedAt), created_at: seconds(chat.createdAt),
    pinned: chat.pinned, archived: chat.archived, share_id: null, folder_id: null, meta: {},
  }
}

/** The signed-in user's chats under /api/v1/chats. */
export const chatRoutes = (deps: AuthDeps, trustedProxies: AddressList) => {
  const { chats } = deps.store
  const findOwnChat = (owner: UserId, raw: string): Chat => {
    const id = parseChatId(raw)
    const chat = id === null ? null : chats.findChatForUser(owner, id)
    if (chat === null) throw chatNotFound()
    return chat
  }
  const openChat = (owner: UserId, chat: Chat) => describeChat(chat, chats.listMessagesInChat(owner, chat.id))
  const toggle = (owner: UserId, raw: string, flag: 'pinned' | 'archived') => {
    const chat = findOwnChat(owner, raw)
    const changed = flag === 'pinned' ? chats.setChatPinned(owner, chat.id, !chat.pinned) : chats.setChatArchived(owner, chat.id, !chat.archived)
    if (changed === null) throw chatNotFound()
    return openChat(owner, changed)
  }

  // note: as Open WebUI, without `page` (or `limit`) the list is every chat, not the first page.
  const listLive = ({ principal, query }: { principal: Principal; query: { page?: number; limit?: number } }) =>
    chats.listFilteredChatsForUser(principal.user.id, 'live', isPaged(query) ? pageOf(query) : ALL_ROWS).map(describeChatSummary)

  return new Elysia({ prefix: '/api/v1/chats' })
    .use(requireAuth(deps, trustedProxies))
    // note: a macro, not a route's `transform`, so that it runs after the `auth` check listed before
    // it (a route's own transform would run first, and answer an anonymous caller 422 before 401).
    .macro({ chatObject: (isRequired: boolean) => (isRequired ? { transform: requireChatObject } : {}) })
    .get('/', listLive, { auth: 'active', query: PageQuery })
    .get('/list', listLive, { auth: 'active', query: PageQuery })

    .get('/archived', ({ principal, query }) =>
      chats.listFilteredChatsForUser(principal.user.id, 'archived', pageOf(query)).map(describeChatSummary),
    { auth: 'active', query: PageQuery })

    .get('/pinned', ({ principal, query }) =>
      chats.listFilteredChatsForUser(principal.user.id, 'pinned', pageOf(query)).map(describeChatSummary),
    { auth: 'active', query: PageQuery })

    .get('/search', ({ principal, query }) =>
      chats.searchChatsForUser(principal.user.id, query.text ?? '', pageOf(query)).map(describeChatSummary),
    { auth: 'active', query: SearchQuery })

    .post('/new', ({ principal, body }) => {
      const owner = principal.user.id
      const chat = chats.createChat(owner, titleOrDefault(body.chat.title), (body.chat.messages ?? []).map(toNewMessage))
      return openChat(owner, chat)
    }, { auth: 'active', chatObject: true, body: ChatBody })

    .get('/:id', ({ principal, params }) => openChat(principal.user.id, findOwnChat(principal.user.id, params.id)),
      { auth: 'active', params: ChatParams })

    .post('/:id', ({ principal, params, body }) => {
      const owner = principal.user.id
      const id = parseChatId(params.id)
      const title = body.chat.title === undefined ? undefined : titleOrDefault(body.chat.title)
      const conversation = body.chat.messages?.map(toNewMessage)
      const chat = id === null ? null : chats.updateChatForUser(owner, id, { ...(title === undefined ? {} : { title }), ...(conversation === undefined ? {} : { conversation }) })
      if (chat === null) throw chatNotFound()
      return openChat(owner, chat)
    }, { auth: 'active', chatObject: true, params: ChatParams, body: ChatBody })

    .post('/:id/rename', ({ principal, params, body }) => {
      const owner = principal.user.id
      const chat = findOwnChat(owner, params.id)
      if (!chats.renameChat(owner, chat.id, titleOrDefault(body.title))) throw chatNotFound()
      return openChat(owner, findOwnChat(owner, chat.id))
    }, { auth: 'active', params: ChatParams, body: t.Object({ title: Title }) })

    .post('/:id/pin', ({ principal, params }) => toggle(principal.user.id, params.id, 'pinned'), { auth: 'active', params: ChatParams })
    .post('/:id/archive', ({ principal, params }) => toggle(principal.user.id, params.id, 'archived'), { auth: 'active', params: ChatParams })

    .delete('/:id', ({ principal, params }) => {
      const id = parseChatId(params.id)
      if (id === null || !chats.deleteChatForUser(principal.user.id, id)) throw chatNotFound()
      return true
    }, { auth: 'active', params: ChatParams })

    .delete('/', ({ principal }) => {
      chats.deleteAllChatsForUser(principal.user.id)
      return true
    }, { auth: 'active' })
}
