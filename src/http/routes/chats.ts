/**
 * Open WebUI's chat routes under /api/v1/chats, each for the signed-in user's own chats only: an id
 * that is malformed, unknown or someone else's is answered 404 chat_not_found alike, so nobody can
 * learn which chat ids exist. A chat is a message tree (src/db/chat-tree.ts); a save replaces the
 * stored chat with the client's, as Open WebUI does, and a save that cannot be applied whole is
 * refused with what is wrong, never answered 200 with content dropped.
 */
import { Elysia, t, ValidationError } from 'elysia'
import { BooleanString, Numeric } from '../numeric-schemas.ts'
import { CloneType } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Principal } from '../../auth/principal.ts'
import { announceCurrent } from '../../chat/branch-select.ts'
import type { SocketHub } from '../../chat/socket-hub.ts'
import type { AddressList } from '../../config/network.ts'
import type { ChatFilter, Page } from '../../db/chat-rows.ts'
import { hasAllTags, readSearchTerms } from '../../db/chat-search-terms.ts'
import type { Chat, ChatContent, ChatTree } from '../../db/chat-tree.ts'
import { ALL_ROWS, type SaveResult } from '../../db/chats.ts'
import { parseFolderId } from '../../db/folders.ts'
import { newChatId, parseChatId, type ChatId, type UserId } from '../../db/ids.ts'
import { MAX_JSON_NESTING, nestsDeeperThan } from '../../db/json-nesting.ts'
import { readOpenWebUiChat } from '../../db/open-webui-chat.ts'
import { describeChatObject, describeChatParts, type HeldChatBytes } from '../../db/open-webui-chat-description.ts'
import { resolveClientAddress } from '../client-address.ts'
import { HttpError } from '../http-error.ts'
import { requirePermission } from '../permission-gate.ts'
import { findChatForAdmin } from './admin-chat-access.ts'
import { tooDeep } from '../plugins/body-nesting.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { folderNotFound, ownFolderId } from './folders.ts'

/** Open WebUI asks for chat lists in pages of 60. */
const OPEN_WEBUI_PAGE_SIZE = 60
const DEFAULT_TITLE = 'New Chat'
/** Chats one import may carry. */
const MAX_IMPORTED_CHATS = 1000

const Title = t.String({ maxLength: 1000 })
const FolderId = t.Optional(t.Nullable(t.String({ maxLength: 128 })))
// note: the chat object is checked by readOpenWebUiChat, which names what is wrong in it.
const ChatBody = t.Object({ chat: t.Unknown(), folder_id: FolderId })
const ImportBody = t.Object({
  chats: t.Array(t.Object({
    chat: t.Unknown(), folder_id: FolderId, meta: t.Optional(t.Unknown()), pinned: t.Optional(t.Nullable(t.Boolean())),
    created_at: t.Optional(t.Nullable(t.Number({ minimum: 0 }))), updated_at: t.Optional(t.Nullable(t.Number({ minimum: 0 }))),
  }), { maxItems: MAX_IMPORTED_CHATS }),
})
const ChatParams = t.Object({ id: t.String() })
const MessageParams = t.Object({ id: t.String(), message_id: t.String({ maxLength: 200 }) })
const PageQuery = t.Object({
  page: t.Optional(Numeric({ minimum: 1, maximum: 1_000_000 })),
  limit: t.Optional(Numeric({ minimum: 1, maximum: 100 })),
})
const SearchQuery = t.Object({ ...PageQuery.properties, text: t.Optional(t.String({ maxLength: 500 })) })
const ListQuery = t.Object({ ...PageQuery.properties, include_pinned: t.Optional(BooleanString()), include_folders: t.Optional(BooleanString()) })

// note: Elysia's normalisation turns any value into {} where the schema has an all-optional object,
// before validating; this keeps `{ chat: 5 }` a 422 instead of an empty chat.
const requireChatObject = ({ body }: { body: unknown }) => {
  const chat = (body as { chat?: unknown } | null)?.chat
  if (typeof chat !== 'object' || chat === null || Array.isArray(chat)) {
    throw new HttpError(422, 'invalid_request', 'The request is not in the expected shape.')
  }
}

/** A save's body (`POST /:id`) of declared length, as sent: read against the held chat before anything parses it (chats.saveChatBytesForUser). */
class UnreadSave {
  constructor(readonly bytes: Uint8Array) {}
}

/**
 * Takes a JSON save body unread, as the body's `chat`, which passes the route's schema and
 * requireChatObject; any other body (another type; a chunked one, which body-limit has parsed
 * already) is left to Elysia's parsers.
 */
const readSaveLater = async ({ request }: { request: Request }, contentType: string) =>
  (contentType === 'application/json' ? { chat: new UnreadSave(await request.bytes()) } : undefined)

// note: compiled at the first unread save, not as the module loads (part of a start's ~1 ms of module-time
// compilation); from a copy taken now, as the routes that take ChatBody as their body schema change that
// object when they are composed (Elysia's normalize: a field not declared would then be refused).
const ChatBodyAsDeclared = CloneType(ChatBody)
let compiledChatBody: TypeCheck<typeof ChatBody> | null = null

/**
 * Parses an unread save body as Elysia would have, with the same refusals in the same order: 400
 * malformed_body (as httpErrors renders Elysia's parse error), body-nesting's 400, requireChatObject's 422, then the
 * schema's (ValidationError, rendered by httpErrors as Elysia's own).
 */
async function parseUnreadSave(unread: UnreadSave): Promise<{ chat: unknown; folder_id?: string | null }> {
  let body: unknown
  try {
    // note: Response.json is the very reading Elysia's JSON parser does (Request.json), invalid UTF-8 and a BOM alike.
    body = await new Response(unread.bytes as Uint8Array<ArrayBuffer>).json()
  } catch {
    throw new HttpError(400, 'malformed_body', 'The request body is not valid JSON or form data.')
  }
  // note: body-nesting's refusal, as a chunked save meets it (a save read against the held chat parses no piece as deep: open-webui-chat-scan.ts).
  if (nestsDeeperThan(body, MAX_JSON_NESTING)) throw tooDeep()
  requireChatObject({ body })
  if (!(compiledChatBody ??= TypeCompiler.Compile(ChatBodyAsDeclared)).Check(body)) throw new ValidationError('body', ChatBody, body)
  const { chat, folder_id } = body
  return folder_id === undefined ? { chat } : { chat, folder_id }
}

const chatNotFound = () => new HttpError(404, 'chat_not_found', 'Chat not found.')
const seconds = (ms: number) => Math.floor(ms / 1000)
const titleOrDefault = (title: string | undefined) => (title === undefined || title.trim() === '' ? DEFAULT_TITLE : title)
/** Which live chats the list shows: Open WebUI leaves out the pinned and the filed unless asked. */
const liveFilter = (includePinned: boolean, includeFolders: boolean): ChatFilter =>
  includePinned ? (includeFolders ? 'live' : 'live-unfiled') : (includeFolders ? 'live-unpinned' : 'live-loose')
/** Every match: the search index holds them in memory, so a page is cut after the tag filter. */
const ALL_ROWS_PAGE: Page = { limit: Number.MAX_SAFE_INTEGER, offset: 0 }
const isPaged = (query: { page?: number; limit?: number }) => query.page !== undefined || query.limit !== undefined
const pageOf = (query: { page?: number; limit?: number }) => {
  const limit = query.limit ?? OPEN_WEBUI_PAGE_SIZE
  return { limit, offset: ((query.page ?? 1) - 1) * limit }
}

/** Reads a client's chat object, or throws the 4xx that says what is wrong with it. */
function readChatOrRefuse(raw: unknown, folderId: string | null | undefined): ChatContent {
  const read = readOpenWebUiChat(raw)
  if (!read.ok) throw new HttpError(read.code === 'too_large' ? 413 : 422, read.code, read.detail)
  return folderId === undefined ? read.content : { ...read.content, folderId }
}

/** Maps a refused save to its 4xx. */
function refusedSave(result: Exclude<SaveResult, { ok: true }>): HttpError {
  switch (result.reason) {
    case 'chat_not_found': return chatNotFound()
    case 'too_large': return new HttpError(413, 'too_large', "The chat's other fields, with those stored, are over 1,000,000 bytes.")
    case 'folder_not_found': return folderNotFound()
    case 'bad_tree': return new HttpError(422, result.problem, `Message ${result.uid} ${result.problem === 'bad_parent' ? 'has a parent the chat does not hold' : 'appears twice'}.`)
  }
}

/** A chat as Open WebUI lists it. */
const describeChatSummary = (chat: Chat) => ({
  id: chat.id, title: chat.title, updated_at: seconds(chat.updatedAt), created_at: seconds(chat.createdAt),
  pinned: chat.pinned, archived: chat.archived,
})

/**
 * A chat as Open WebUI opens it: its settings, the whole message tree, and the path to the selected
 * leaf; `shareId` is the id of its share link when it has one (the share dialog reads it).
 */
export function describeChat(tree: ChatTree, shareId: string | null = null) {
  return chatAnswer(tree, describeChatObject(tree), shareId)
}

const chatAnswer = <T>({ chat }: ChatTree, object: T, shareId: string | null) => ({
  id: chat.id, user_id: chat.userId, title: chat.title, chat: object,
  updated_at: seconds(chat.updatedAt), created_at: seconds(chat.createdAt),
  pinned: chat.pinned, archived: chat.archived, share_id: shareId, folder_id: chat.folderId, meta: {},
})

/** Answers this large are sent in chunks as they are copied, not copied whole into one buffer first. */
const STREAMED_ANSWER_BYTES = 256 * 1024
const CHUNK_BYTES = 64 * 1024

/**
 * describeChat's answer as JSON bytes, built with each message serialised once and a held one not
 * again (describeChatParts); sent as is, with the type Elysia gives objects: as one buffer, or
 * streamed in chunks when large.
 */
const chatJson = ({ tree, bytes }: { tree: ChatTree; bytes: () => HeldChatBytes }, shareId: string | null, set: { headers: Record<string, unknown> }): Buffer | Response => {
  const parts = describeChatParts(tree, (object) => chatAnswer(tree, object, shareId), bytes())
  let length = 0
  for (const part of parts) length += part.length
  if (length <= STREAMED_ANSWER_BYTES) {
    set.headers['content-type'] = JSON_TYPE
    return Buffer.concat(parts, length)
  }
  return new Response(chunksOf(parts), { headers: { 'content-type': JSON_TYPE, 'content-length': String(length) } })
}

const JSON_TYPE = 'application/json;charset=utf-8'

/**
 * The parts as a stream, about CHUNK_BYTES a pull, each part passed as it is: they are views of
 * bytes no one changes (held messages' JSON, or made for this answer), so none is copied again.
 */
function chunksOf(parts: readonly Uint8Array[]): ReadableStream<Uint8Array> {
  let next = 0
  return new ReadableStream({
    pull(controller) {
      for (let length = 0; length < CHUNK_BYTES && next < parts.length; next++) {
        length += parts[next]!.length
        controller.enqueue(parts[next]!)
      }
      if (next >= parts.length) controller.close()
    },
  })
}

/** The signed-in user's chats under /api/v1/chats. */
export const chatRoutes = (deps: AuthDeps, trustedProxies: AddressList, hub: SocketHub | null = null) => {
  const { chats } = deps.store
  const findOwnChat = async (owner: UserId, raw: string): Promise<Chat> => {
    const id = parseChatId(raw)
    const chat = id === null ? null : await chats.findChatForUser(owner, id)
    if (chat === null) throw chatNotFound()
    return chat
  }
  const readTreeBytes = async (owner: UserId, chatId: ChatId) => {
    const read = await chats.readChatTreeBytes(owner, chatId)
    if (read === null) throw chatNotFound()
    return read
  }
  const readTree = async (owner: UserId, chatId: ChatId): Promise<ChatTree> => {
    const tree = await chats.readChatTree(owner, chatId)
    if (tree === null) throw chatNotFound()
    return tree
  }
  const shareIdOf = (owner: UserId, chatId: ChatId) => deps.store.chatShares.findShareIdOfChat(owner, chatId)
  const openChat = async (owner: UserId, chatId: ChatId) => describeChat(await readTree(owner, chatId), await shareIdOf(owner, chatId))
  /** Opens the chat after a change that may have moved its selected leaf, and tells the owner's sockets where it is. */
  const openChangedChat = async (owner: UserId, chatId: ChatId) => {
    const described = await openChat(owner, chatId)
    if (hub !== null) announceCurrent(hub, owner, chatId, described.chat.history.currentId)
    return described
  }
  /** A client's chat object as a save, its title defaulted when it is given empty. */
  const contentOf = (body: { chat: unknown; folder_id?: string | null }): ChatContent => preparedContent(readChatOrRefuse(body.chat, body.folder_id))
  /** What saveChatForUser is given for a chat object read from a save: its title defaulted when given empty. */
  const preparedContent = (content: ChatContent): ChatContent => (content.title === undefined ? content : { ...content, title: titleOrDefault(content.title) })
  /** A save read whole: `contentOf`'s refusals first, then an id that names no chat of the owner's. */
  const saveWhole = async (owner: UserId, id: ChatId | null, body: { chat: unknown; folder_id?: string | null }): Promise<SaveResult> => {
    const content = contentOf(body)
    if (id === null) throw chatNotFound()
    return chats.saveChatForUser(owner, id, content)
  }
  /**
   * Refuses a `folder_id` that is not one of the owner's folders, 404 as POST /:id/folder does: a chat
   * filed there would show in none of their lists (they leave out filed chats) nor folders.
   */
  // note: as Open WebUI's create_new_chat (routers/chats.py), which answers 404 for a folder_id not the caller's. Its save
  // ignores folder_id; here a save applies it, so it refuses one not theirs too (chat-whole-save.ts).
  const requireOwnFolder = async (owner: UserId, folderId: string | null | undefined) => {
    if (folderId != null) await ownFolderId(deps.store.folders, owner, folderId)
  }
  /** Of the folder ids an import names, those that are the owner's folders. */
  const ownFolderIdsAmong = async (owner: UserId, folderIds: readonly (string | null | undefined)[]): Promise<Set<string>> => {
    const own = new Set<string>()
    for (const folderId of new Set(folderIds)) {
      const id = folderId == null ? null : parseFolderId(folderId)
      if (id !== null && (await deps.store.folders.findFolderForUser(owner, id)) !== null) own.add(id)
    }
    return own
  }
  const toggle = async (owner: UserId, raw: string, flag: 'pinned' | 'archived') => {
    const chat = await findOwnChat(owner, raw)
    const changed = flag === 'pinned' ? await chats.setChatPinned(owner, chat.id, !chat.pinned) : await chats.setChatArchived(owner, chat.id, !chat.archived)
    if (changed === null) throw chatNotFound()
    return openChat(owner, changed.id)
  }

  // note: as Open WebUI, without `page` (or `limit`) the list is every chat, not the first page, and
  // it leaves out pinned chats and chats in folders (its sidebar lists those apart) unless asked.
  const listLive = async ({ principal, query }: { principal: Principal; query: { page?: number; limit?: number; include_pinned?: boolean; include_folders?: boolean } }) =>
    (await chats.listFilteredChatsForUser(principal.user.id, liveFilter(query.include_pinned === true, query.include_folders === true), isPaged(query) ? pageOf(query) : ALL_ROWS))
      .map(describeChatSummary)

  /** The owner's live chats matching Open WebUI's search text, `tag:` words included. */
  const search = async (owner: UserId, raw: string, page: Page): Promise<Chat[]> => {
    const terms = readSearchTerms(raw)
    if (terms.tagIds.length === 0) return chats.searchChatsForUser(owner, terms.text, page)
    const tagsByChat = await deps.store.chatTags.listTagIdsByChat(owner)
    return (await chats.searchChatsForUser(owner, terms.text, ALL_ROWS_PAGE))
      .filter((chat) => hasAllTags(tagsByChat.get(chat.id), terms.tagIds))
      .slice(page.offset, page.offset + page.limit)
  }

  return new Elysia({ prefix: '/api/v1/chats' })
    .use(requireAuth(deps, trustedProxies))
    // note: a macro, not a route's `transform`, so that it runs after the `auth` check listed before
    // it (a route's own transform would run first, and answer an anonymous caller 422 before 401).
    .macro({ chatObject: (isRequired: boolean) => (isRequired ? { transform: requireChatObject } : {}) })
    .get('/', listLive, { auth: 'active', query: ListQuery })
    .get('/list', listLive, { auth: 'active', query: ListQuery })

    .get('/archived', async ({ principal, query }) =>
      (await chats.listFilteredChatsForUser(principal.user.id, 'archived', pageOf(query))).map(describeChatSummary),
    { auth: 'active', query: PageQuery })

    .get('/pinned', async ({ principal, query }) =>
      (await chats.listFilteredChatsForUser(principal.user.id, 'pinned', pageOf(query))).map(describeChatSummary),
    { auth: 'active', query: PageQuery })

    .get('/search', async ({ principal, query }) =>
      (await search(principal.user.id, query.text ?? '', pageOf(query))).map(describeChatSummary),
    { auth: 'active', query: SearchQuery })

    .post('/new', async ({ principal, body }) => {
      const owner = principal.user.id
      const content = contentOf(body)
      await requireOwnFolder(owner, body.folder_id)
      return openChat(owner, (await chats.createChatFromContent(owner, { ...content, title: content.title ?? DEFAULT_TITLE })).id)
    }, { auth: 'active', chatObject: true, body: ChatBody })

    // note: as Open WebUI, each imported chat gets a new id; all are checked before any is stored.
    // note: a folder_id that is not one of the caller's is not kept: the chat is imported outside any folder, where their
    // list shows it (its answer says folder_id null). Open WebUI's page imports an export with each chat's folder_id
    // (Settings, Chats: importChatsHandler), ids of the server it came from; Open WebUI's import stores them, and the chats
    // then show in no list nor folder. Refused, such an export could not be imported at all.
    .post('/import', async ({ principal, body }) => {
      const owner = principal.user.id
      const own = await ownFolderIdsAmong(owner, body.chats.map((entry) => entry.folder_id))
      const read = body.chats.map((entry) => ({ entry, content: contentOf({ ...entry, folder_id: entry.folder_id != null && own.has(entry.folder_id) ? entry.folder_id : null }) }))
      const created = await deps.store.sql.transaction(async () => {
        const ids: ChatId[] = []
        for (const { entry, content } of read) {
          const createdAt = entry.created_at == null ? deps.now() : entry.created_at * 1000
          const given = { id: newChatId(), createdAt, updatedAt: entry.updated_at == null ? createdAt : entry.updated_at * 1000, pinned: entry.pinned === true }
          ids.push((await chats.createChatFromContent(owner, { ...content, title: content.title ?? DEFAULT_TITLE }, given)).id)
        }
        return ids
      })
      return Promise.all(created.map((id) => openChat(owner, id)))
    }, { auth: 'active', body: ImportBody })

    .get('/:id', async ({ principal, params, set, request, server }) => {
      const parsed = parseChatId(params.id)
      const own = parsed === null ? null : await chats.findChatForUser(principal.user.id, parsed)
      // note: another user's chat only for an admin with ENABLE_ADMIN_CHAT_ACCESS, audited (admin-chat-access.ts).
      const found = own !== null ? { owner: principal.user.id, id: own.id } : await findChatForAdmin(deps, principal, params.id, resolveClientAddress(request, server, trustedProxies).ip)
      if (found === null) throw chatNotFound()
      return chatJson(await readTreeBytes(found.owner, found.id), found.owner === principal.user.id ? await shareIdOf(found.owner, found.id) : null, set)
    }, { auth: 'active', params: ChatParams })

    .post('/:id', async ({ principal, params, body, set }) => {
      const owner = principal.user.id
      const id = parseChatId(params.id)
      // note: a body of declared length arrives unread (readSaveLater): the held chat reads it first, without parsing what it sent and got back.
      const read = body.chat instanceof UnreadSave && id !== null ? await chats.saveChatBytesForUser(owner, id, body.chat.bytes, preparedContent) : null
      const saved = read !== null && !(!read.ok && read.reason === 'chat_not_found') ? read : await saveWhole(owner, id, body.chat instanceof UnreadSave ? await parseUnreadSave(body.chat) : body)
      if (!saved.ok) throw refusedSave(saved)
      const chatId = saved.chat.id
      // note: the chat just written is held opened (chat-history-cache.ts): the answer opens nothing again, and serialises each message once; a save read against it gives its answer itself (chats.ts, SavedAnswer).
      const answer = saved.answer ?? await readTreeBytes(owner, chatId)
      if (hub !== null) announceCurrent(hub, owner, chatId, answer.bytes().currentUid)
      return chatJson(answer, saved.answer !== undefined ? saved.answer.shareId : await shareIdOf(owner, chatId), set)
    }, { auth: 'active', parse: readSaveLater, chatObject: true, params: ChatParams, body: ChatBody })

    .post('/:id/clone', async ({ principal, params, body }) => {
      const owner = principal.user.id
      const chat = await findOwnChat(owner, params.id)
      const title = body?.title ? body.title : `Clone of ${chat.title}`
      const clone = await chats.cloneChat(owner, chat.id, title)
      if (clone === null) throw chatNotFound()
      return openChat(owner, clone.id)
    }, { auth: 'active', params: ChatParams, body: t.Optional(t.Nullable(t.Object({ title: t.Optional(t.Nullable(Title)) }))) })

    .delete('/:id/messages/:message_id', async ({ principal, params }) => {
      const owner = principal.user.id
      const chat = await findOwnChat(owner, params.id)
      if ((await chats.deleteMessage(owner, chat.id, params.message_id)) === null) throw new HttpError(404, 'message_not_found', 'Message not found.')
      return openChangedChat(owner, chat.id)
    }, { auth: 'active', params: MessageParams })

    .post('/:id/rename', async ({ principal, params, body }) => {
      const owner = principal.user.id
      const chat = await findOwnChat(owner, params.id)
      if (!(await chats.renameChat(owner, chat.id, titleOrDefault(body.title)))) throw chatNotFound()
      return openChat(owner, chat.id)
    }, { auth: 'active', params: ChatParams, body: t.Object({ title: Title }) })

    .post('/:id/pin', ({ principal, params }) => toggle(principal.user.id, params.id, 'pinned'), { auth: 'active', params: ChatParams })
    .post('/:id/archive', ({ principal, params }) => toggle(principal.user.id, params.id, 'archived'), { auth: 'active', params: ChatParams })

    // note: as Open WebUI (routers/chats.py delete_chat_by_id, delete_all_user_chats), deleting needs chat.delete.
    .delete('/:id', async ({ principal, params }) => {
      await requirePermission(deps.permissions, principal, 'chat.delete')
      const id = parseChatId(params.id)
      if (id === null || !(await chats.deleteChatForUser(principal.user.id, id))) throw chatNotFound()
      return true
    }, { auth: 'active', params: ChatParams })

    .delete('/', async ({ principal }) => {
      await requirePermission(deps.permissions, principal, 'chat.delete')
      await chats.deleteAllChatsForUser(principal.user.id)
      return true
    }, { auth: 'active' })
}
