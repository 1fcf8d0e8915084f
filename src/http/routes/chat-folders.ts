/**
 * Open WebUI's routes that file, pin and archive the signed-in user's chats in bulk or by folder,
 * under /api/v1/chats: a chat's folder, a folder's chats, whether a chat is pinned, and archiving
 * every chat at once. Another user's chat or folder id is 404, as an unknown one.
 * Open for the folders the user has while folders are off (ENABLE_FOLDERS, features.folders), which
 * close only the /api/v1/folders routes (folders.ts), so no folder is made or changed then.
 */
import { Elysia, t } from 'elysia'
import { Numeric } from '../numeric-schemas.ts'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { AddressList } from '../../config/network.ts'
import { ALL_ROWS } from '../../db/chats.ts'
import type { FolderId } from '../../db/folders.ts'
import { parseChatId, type ChatId, type UserId } from '../../db/ids.ts'
import { HttpError } from '../http-error.ts'
import { requireAuth } from '../plugins/require-auth.ts'
import { describeChat } from './chats.ts'
import { ownFolderId } from './folders.ts'

/** Open WebUI lists a folder's chats ten to a page. */
const FOLDER_PAGE_SIZE = 10

const seconds = (ms: number) => Math.floor(ms / 1000)
const chatNotFound = () => new HttpError(404, 'chat_not_found', 'Chat not found.')

export const chatFolderRoutes = (deps: AuthDeps, trustedProxies: AddressList) => {
  const { chats, folders, chatFolders } = deps.store
  const ownChatId = async (owner: UserId, raw: string): Promise<ChatId> => {
    const id = parseChatId(raw)
    if (id === null || (await chats.findChatForUser(owner, id)) === null) throw chatNotFound()
    return id
  }
  const folderIdOf = (owner: UserId, raw: string) => ownFolderId(folders, owner, raw)
  const openChat = async (owner: UserId, id: ChatId) => {
    const tree = await chats.readChatTree(owner, id)
    return tree === null ? [] : [describeChat(tree)]
  }
  /** Every chat of `ids` still there, opened, in order. */
  const openChats = async (owner: UserId, ids: readonly ChatId[]) => {
    const opened = []
    for (const id of ids) opened.push(...await openChat(owner, id))
    return opened
  }
  /** The listed (neither pinned nor archived) chats of the folder and the folders under it. */
  const chatIdsUnder = async (owner: UserId, folderId: FolderId) => {
    const ids: ChatId[] = []
    for (const id of await folders.listFolderTreeIds(owner, folderId)) ids.push(...await chatFolders.listChatIdsInFolder(owner, id, 'listed'))
    return ids
  }
  const setArchivedForAll = async (owner: UserId, archived: boolean) => {
    await deps.store.sql.transaction(async () => {
      for (const chat of await chats.listFilteredChatsForUser(owner, archived ? 'live' : 'archived', ALL_ROWS)) await chats.setChatArchived(owner, chat.id, archived)
    })
    return true
  }

  return new Elysia({ prefix: '/api/v1/chats' })
    .use(requireAuth(deps, trustedProxies))
    // note: not behind the folder gate, as in Open WebUI: routers/chats.py get_chats_by_folder_id,
    // get_chat_list_by_folder_id and update_chat_folder_id_by_id (and create_new_chat's folder_id) check
    // neither ENABLE_FOLDERS nor features.folders (only routers/folders.py get_folders does), and
    // Conduit's moveChatToFolderRaw takes a 403 as final; a chat filed before stays reachable and movable.
    .get('/folder/:folder_id', async ({ principal, params }) => {
      const owner = principal.user.id
      return openChats(owner, await chatIdsUnder(owner, await folderIdOf(owner, params.folder_id)))
    }, { auth: 'active', params: t.Object({ folder_id: t.String() }) })

    .get('/folder/:folder_id/list', async ({ principal, params, query }) => {
      const owner = principal.user.id
      const offset = ((query.page ?? 1) - 1) * FOLDER_PAGE_SIZE
      const ids = (await chatFolders.listChatIdsInFolder(owner, await folderIdOf(owner, params.folder_id), 'listed')).slice(offset, offset + FOLDER_PAGE_SIZE)
      const listed = []
      for (const id of ids) {
        const chat = await chats.findChatForUser(owner, id)
        if (chat !== null) listed.push({ title: chat.title, id: chat.id, updated_at: seconds(chat.updatedAt) })
      }
      return listed
    }, { auth: 'active', params: t.Object({ folder_id: t.String() }), query: t.Object({ page: t.Optional(Numeric({ minimum: 1, maximum: 1_000_000 })) }) })

    // note: as Open WebUI, a chat put in a folder (or taken out: folder_id null) is no longer pinned.
    .post('/:id/folder', async ({ principal, params, body }) => {
      const owner = principal.user.id
      const chatId = await ownChatId(owner, params.id)
      const folderId = body.folder_id === null || body.folder_id === undefined ? null : await folderIdOf(owner, body.folder_id)
      await deps.store.sql.transaction(async () => {
        await chatFolders.setChatFolder(owner, chatId, folderId, deps.now())
        await chats.setChatPinned(owner, chatId, false)
      })
      const [chat] = await openChat(owner, chatId)
      if (chat === undefined) throw chatNotFound()
      return chat
    }, { auth: 'active', params: t.Object({ id: t.String() }), body: t.Object({ folder_id: t.Optional(t.Nullable(t.String({ maxLength: 128 }))) }) })

    .get('/:id/pinned', async ({ principal, params }) => {
      const owner = principal.user.id
      return (await chats.findChatForUser(owner, await ownChatId(owner, params.id)))?.pinned ?? false
    }, { auth: 'active', params: t.Object({ id: t.String() }) })

    .get('/all/archived', async ({ principal }) => {
      const owner = principal.user.id
      return openChats(owner, (await chats.listFilteredChatsForUser(owner, 'archived', ALL_ROWS)).map((chat) => chat.id))
    }, { auth: 'active' })

    .post('/archive/all', ({ principal }) => setArchivedForAll(principal.user.id, true), { auth: 'active' })
    .post('/unarchive/all', ({ principal }) => setArchivedForAll(principal.user.id, false), { auth: 'active' })
}
