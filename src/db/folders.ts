/**
 * Folders, as Open WebUI keeps them: each belongs to one user and may sit under another of theirs.
 * The name, data and meta are sealed under the owner's data key with the folder's id in their AAD;
 * the parent, the expanded flag and the times are plain, as the sidebar needs them. Every lookup
 * names the owner, so another user's folder id finds nothing; a move that would put a folder under
 * itself or one of its own descendants is refused.
 */
import type { SqlEngine } from './engine.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'

const folderTable = sealedTable('folder', { name: 'text', data: 'json', meta: 'json' })

export type FolderId = string & { readonly brand: 'FolderId' }

export type Folder = {
  id: FolderId; userId: UserId; parentId: FolderId | null; name: string
  data: Record<string, unknown> | null; meta: Record<string, unknown> | null
  isExpanded: boolean; createdAt: number; updatedAt: number
}

/** What a create or an update may set; undefined keeps what is stored (data and meta merge key by key). */
export type FolderInput = { name?: string; data?: Record<string, unknown> | null; meta?: Record<string, unknown> | null }

export type FolderResult = { ok: true; folder: Folder } | { ok: false; reason: 'folder_not_found' | 'parent_not_found' | 'name_taken' | 'cycle' }

type FolderRow = {
  id: string; user_id: string; parent_id: string | null; name: Uint8Array; data: Uint8Array | null; meta: Uint8Array | null
  is_expanded: number; created_at: number; updated_at: number
}

const folderIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Reads a folder id from outside input, or null when it can't be one. */
export const parseFolderId = (raw: string): FolderId | null => (folderIdPattern.test(raw) ? (raw as FolderId) : null)

export function createFolderRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number) {
  const toFolder = async (row: FolderRow): Promise<Folder> => {
    const plain = folderTable.open(row.id, row, await keys.ringFor(row.user_id))
    return {
      id: row.id as FolderId, userId: row.user_id as UserId, parentId: row.parent_id as FolderId | null, name: plain.name!,
      data: plain.data as Folder['data'], meta: plain.meta as Folder['meta'],
      isExpanded: row.is_expanded === 1, createdAt: row.created_at, updatedAt: row.updated_at,
    }
  }
  const find = async (owner: UserId, id: FolderId): Promise<Folder | null> => {
    const row = await sql.get<FolderRow>('SELECT * FROM folder WHERE id = ? AND user_id = ?', id, owner)
    return row === null ? null : toFolder(row)
  }
  const list = async (owner: UserId): Promise<Folder[]> => Promise.all((await sql.all<FolderRow>('SELECT * FROM folder WHERE user_id = ? ORDER BY created_at, id', owner)).map(toFolder))
  /** Whether another of the owner's folders under `parentId` already has this name (Open WebUI compares names exactly). */
  const isNameTaken = (folders: readonly Folder[], parentId: FolderId | null, name: string, except: FolderId | null) =>
    folders.some((folder) => folder.parentId === parentId && folder.name === name && folder.id !== except)
  const write = async (folder: Folder): Promise<Folder> => {
    const sealed = folderTable.seal(folder.id, { name: folder.name, data: folder.data, meta: folder.meta }, await keys.ringFor(folder.userId))
    await sql.run('UPDATE folder SET name = ?, data = ?, meta = ?, parent_id = ?, is_expanded = ?, updated_at = ? WHERE id = ? AND user_id = ?',
      sealed.name!, sealed.data, sealed.meta, folder.parentId, folder.isExpanded ? 1 : 0, folder.updatedAt, folder.id, folder.userId)
    return folder
  }
  const merge = (stored: Record<string, unknown> | null, given: Record<string, unknown> | null | undefined) =>
    given === undefined || given === null ? stored : { ...stored, ...given }

  /** The folder and every folder under it, the folder first. */
  function subtreeOf(folders: readonly Folder[], id: FolderId): FolderId[] {
    const found: FolderId[] = [id]
    for (let i = 0; i < found.length; i++) for (const folder of folders) if (folder.parentId === found[i]) found.push(folder.id)
    return found
  }

  return {
    /** Creates a folder of the owner under `parentId` (null: at the top); refused when the parent is not theirs or the name is taken there. */
    createFolder(owner: UserId, input: FolderInput & { name: string }, parentId: FolderId | null = null): Promise<FolderResult> {
      return sql.transaction(async (): Promise<FolderResult> => {
        const folders = await list(owner)
        if (parentId !== null && !folders.some((folder) => folder.id === parentId)) return { ok: false, reason: 'parent_not_found' }
        if (isNameTaken(folders, parentId, input.name, null)) return { ok: false, reason: 'name_taken' }
        const id = crypto.randomUUID() as FolderId
        const at = now()
        const sealed = folderTable.seal(id, { name: input.name, data: input.data ?? null, meta: input.meta ?? null }, await keys.ringFor(owner))
        await sql.run('INSERT INTO folder (id, user_id, parent_id, name, data, meta, is_expanded, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)',
          id, owner, parentId, sealed.name!, sealed.data, sealed.meta, at, at)
        return { ok: true, folder: (await find(owner, id))! }
      })
    },

    /** Returns the owner's folder, or null when it does not exist or is someone else's. */
    findFolderForUser: find,

    /** Lists every folder of the owner, oldest first. */
    listFoldersForUser: list,

    /** The folder and every folder under it, the folder first; empty when it is not the owner's. */
    async listFolderTreeIds(owner: UserId, id: FolderId): Promise<FolderId[]> {
      const folders = await list(owner)
      return folders.some((folder) => folder.id === id) ? subtreeOf(folders, id) : []
    },

    /** Renames the folder and merges data and meta into what is stored. */
    updateFolder(owner: UserId, id: FolderId, input: FolderInput): Promise<FolderResult> {
      return sql.transaction(async (): Promise<FolderResult> => {
        const folders = await list(owner)
        const folder = folders.find((candidate) => candidate.id === id)
        if (folder === undefined) return { ok: false, reason: 'folder_not_found' }
        const name = input.name ?? folder.name
        if (isNameTaken(folders, folder.parentId, name, id)) return { ok: false, reason: 'name_taken' }
        return { ok: true, folder: await write({ ...folder, name, data: merge(folder.data, input.data), meta: merge(folder.meta, input.meta), updatedAt: now() }) }
      })
    },

    /** Moves the folder under `parentId` (null: to the top); a parent under the folder itself is a cycle. */
    moveFolder(owner: UserId, id: FolderId, parentId: FolderId | null): Promise<FolderResult> {
      return sql.transaction(async (): Promise<FolderResult> => {
        const folders = await list(owner)
        const folder = folders.find((candidate) => candidate.id === id)
        if (folder === undefined) return { ok: false, reason: 'folder_not_found' }
        if (parentId !== null && !folders.some((candidate) => candidate.id === parentId)) return { ok: false, reason: 'parent_not_found' }
        if (parentId !== null && subtreeOf(folders, id).includes(parentId)) return { ok: false, reason: 'cycle' }
        if (isNameTaken(folders, parentId, folder.name, id)) return { ok: false, reason: 'name_taken' }
        return { ok: true, folder: await write({ ...folder, parentId, updatedAt: now() }) }
      })
    },

    /** Opens or closes the folder in the sidebar. */
    async setFolderExpanded(owner: UserId, id: FolderId, isExpanded: boolean): Promise<Folder | null> {
      const folder = await find(owner, id)
      return folder === null ? null : write({ ...folder, isExpanded, updatedAt: now() })
    },

    /** Deletes the folder and every folder under it; returns their ids (empty when the folder is not theirs). */
    deleteFolderTree(owner: UserId, id: FolderId): Promise<FolderId[]> {
      return sql.transaction(async () => {
        const folders = await list(owner)
        if (!folders.some((folder) => folder.id === id)) return []
        const gone = subtreeOf(folders, id)
        for (const folderId of gone) await sql.run('DELETE FROM folder WHERE id = ? AND user_id = ?', folderId, owner)
        return gone
      })
    },
  }
}

export type FolderRepo = ReturnType<typeof createFolderRepo>
