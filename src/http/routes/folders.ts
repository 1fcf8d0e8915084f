/**
 * Open WebUI's folder routes under /api/v1/folders, each for the signed-in user's own folders only:
 * an id that is malformed, unknown or someone else's is answered 404 alike. Folder names, data and
 * meta are sealed at rest (src/db/folders.ts); a move that would put a folder under itself is 400.
 * Every route is 403 while the admin config has ENABLE_FOLDERS off, or for a user without the
 * features.folders permission.
 */
import { Elysia, t } from 'elysia'
import type { AuthDeps } from '../../auth/auth-deps.ts'
import type { Principal } from '../../auth/principal.ts'
import type { AddressList } from '../../config/network.ts'
import { parseFolderId, type Folder, type FolderId, type FolderRepo, type FolderResult } from '../../db/folders.ts'
import type { ChatId, UserId } from '../../db/ids.ts'
import { HttpError } from '../http-error.ts'
import { BooleanString } from '../numeric-schemas.ts'
import { refused, requirePermission } from '../permission-gate.ts'
import { requireAuth } from '../plugins/require-auth.ts'

const Name = t.String({ maxLength: 1000 })
const Fields = t.Optional(t.Nullable(t.Object({}, { additionalProperties: true })))
const FolderBody = t.Object({ name: Name, data: Fields, meta: Fields, parent_id: t.Optional(t.Nullable(t.String({ maxLength: 128 }))) })
const UpdateBody = t.Object({ name: t.Optional(t.Nullable(Name)), data: Fields, meta: Fields })
const Params = t.Object({ id: t.String() })
const DeleteQuery = t.Object({ delete_contents: t.Optional(BooleanString()) })

const seconds = (ms: number) => Math.floor(ms / 1000)
export const folderNotFound = () => new HttpError(404, 'folder_not_found', 'Folder not found.')

/** A folder as Open WebUI answers it. */
export const describeFolder = (folder: Folder) => ({
  id: folder.id, parent_id: folder.parentId, user_id: folder.userId, name: folder.name,
  meta: folder.meta, data: folder.data, is_expanded: folder.isExpanded,
  created_at: seconds(folder.createdAt), updated_at: seconds(folder.updatedAt),
})

/** Maps a folder write to its answer, or throws the 4xx Open WebUI gives. */
function answerOf(result: FolderResult) {
  if (result.ok) return describeFolder(result.folder)
  switch (result.reason) {
    case 'folder_not_found': throw folderNotFound()
    case 'parent_not_found': throw new HttpError(404, 'folder_not_found', 'Parent folder not found.')
    case 'name_taken': throw new HttpError(400, 'folder_exists', 'Folder already exists')
    case 'cycle': throw new HttpError(400, 'folder_cycle', 'A folder cannot be moved under itself or one of its subfolders.')
  }
}

// note: Elysia's normalisation would turn any value into {} before validation, where the schema
// has an all-optional object; Open WebUI's dict fields are objects or null. Run as a macro's transform, after the `auth` check (see routes/chats.ts).
const refuseNonObjects = ({ body }: { body: unknown }) => {
  const fields = body as { data?: unknown; meta?: unknown } | null
  const isDict = (value: unknown) => value === undefined || value === null || (typeof value === 'object' && !Array.isArray(value))
  if (!isDict(fields?.data) || !isDict(fields?.meta)) throw new HttpError(422, 'invalid_request', 'The request is not in the expected shape.')
}

/** The id of the owner's folder named by `raw`; throws 404 when it is malformed, unknown or someone else's. */
export async function ownFolderId(folders: FolderRepo, owner: UserId, raw: string): Promise<FolderId> {
  const id = parseFolderId(raw)
  if (id === null || await folders.findFolderForUser(owner, id) === null) throw folderNotFound()
  return id
}

/** Reads a parent id from a body: absent or null is the top. */
function parentOf(raw: string | null | undefined): FolderId | null {
  if (raw === undefined || raw === null) return null
  const id = parseFolderId(raw)
  if (id === null) throw new HttpError(404, 'folder_not_found', 'Parent folder not found.')
  return id
}

/** The signed-in user's folders under /api/v1/folders. */
export const folderRoutes = (deps: AuthDeps, trustedProxies: AddressList) => {
  const { folders, chatFolders, chats } = deps.store
  /** The chats of `ids` still there, as a folder lists them. */
  const listedChats = async (owner: UserId, ids: readonly ChatId[]) => {
    const listed = []
    for (const id of ids) {
      const chat = await chats.findChatForUser(owner, id)
      if (chat !== null) listed.push({ title: chat.title, id: chat.id, updated_at: seconds(chat.updatedAt) })
    }
    return listed
  }
  const folderIdOf = (owner: UserId, raw: string) => ownFolderId(folders, owner, raw)
  // note: 403 while the admin has folders off (ENABLE_FOLDERS) or for a user without features.folders;
  // admins pass the latter. Open WebUI checks both at its folder list (routers/folders.py get_folders),
  // Enclave at every folder route; the chat routes that name a folder are open (chat-folders.ts).
  const refuseUnlessFolders = async (principal: Principal) => {
    if (!deps.runtime.admin().ENABLE_FOLDERS) throw new HttpError(403, 'folders_disabled', 'Folders are turned off on this server.')
    await requirePermission(deps.permissions, principal, 'features.folders')
  }

  return new Elysia({ prefix: '/api/v1/folders' })
    .use(requireAuth(deps, trustedProxies))
    .macro({ plainFields: (isRequired: boolean) => (isRequired ? { transform: refuseNonObjects } : {}) })
    .get('/', async ({ principal }) => {
      await refuseUnlessFolders(principal)
      const owner = principal.user.id
      const answer = []
      for (const folder of await folders.listFoldersForUser(owner)) {
        answer.push({
          ...describeFolder(folder),
          items: {
            chats: await listedChats(owner, await chatFolders.listChatIdsInFolder(owner, folder.id, 'listed')),
          },
        })
      }
      return answer
    }, { auth: 'active' })

    .post('/', async ({ principal, body }) => {
      await refuseUnlessFolders(principal)
      return answerOf(await folders.createFolder(principal.user.id, { name: body.name, data: body.data, meta: body.meta }, parentOf(body.parent_id)))
    }, { auth: 'active', body: FolderBody, plainFields: true })

    .get('/:id', async ({ principal, params }) => {
      await refuseUnlessFolders(principal)
      const id = parseFolderId(params.id)
      const folder = id === null ? null : await folders.findFolderForUser(principal.user.id, id)
      if (folder === null) throw folderNotFound()
      return describeFolder(folder)
    }, { auth: 'active', params: Params })

    .post('/:id/update', async ({ principal, params, body }) => {
      await refuseUnlessFolders(principal)
      const owner = principal.user.id
      return answerOf(await folders.updateFolder(owner, await folderIdOf(owner, params.id), { name: body.name ?? undefined, data: body.data, meta: body.meta }))
    }, { auth: 'active', params: Params, body: UpdateBody, plainFields: true })

    .post('/:id/update/parent', async ({ principal, params, body }) => {
      await refuseUnlessFolders(principal)
      const owner = principal.user.id
      return answerOf(await folders.moveFolder(owner, await folderIdOf(owner, params.id), parentOf(body.parent_id)))
    }, { auth: 'active', params: Params, body: t.Object({ parent_id: t.Optional(t.Nullable(t.String({ maxLength: 128 }))) }) })

    .post('/:id/update/expanded', async ({ principal, params, body }) => {
      await refuseUnlessFolders(principal)
      const owner = principal.user.id
      const folder = await folders.setFolderExpanded(owner, await folderIdOf(owner, params.id), body.is_expanded)
      if (folder === null) throw folderNotFound()
      return describeFolder(folder)
    }, { auth: 'active', params: Params, body: t.Object({ is_expanded: t.Boolean() }) })

    // note: as Open WebUI, the folder's chats go with it unless `delete_contents=false` leaves them outside any folder.
    .delete('/:id', async ({ principal, params, query }) => {
      await refuseUnlessFolders(principal)
      const owner = principal.user.id
      const folderId = await folderIdOf(owner, params.id)
      const deletesChats = query.delete_contents !== false
      const mayDeleteChats = deletesChats && await deps.permissions.has(principal, 'chat.delete')
      const gone = await deps.store.sql.transaction(async () => {
        const ids = await folders.deleteFolderTree(owner, folderId)
        if (!deletesChats) await chatFolders.unfileChats(owner, ids)
        // note: as Open WebUI (routers/folders.py delete_folder_by_id), deleting a folder with chats in it
        // (and with them) needs chat.delete; decided here, after the folders are deleted in this
        // transaction, so a chat filed into the tree meanwhile is seen, and the refusal rolls it all back.
        if (deletesChats && !mayDeleteChats) {
          for (const id of ids) {
            if ((await chatFolders.listChatIdsInFolder(owner, id, 'all')).length > 0) throw refused()
          }
        }
        return ids
      })
      if (mayDeleteChats) {
        for (const folderId of gone) for (const chatId of await chatFolders.listChatIdsInFolder(owner, folderId, 'all')) await chats.deleteChatForUser(owner, chatId)
      } else if (deletesChats) {
        // note: a chat filed into the tree after the transaction read it is kept, outside any folder.
        await chatFolders.unfileChats(owner, gone)
      }
      return true
    }, { auth: 'active', params: Params, query: DeleteQuery })
}
