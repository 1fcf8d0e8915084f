/**
 * Which folder each chat is in. The folder id on a chat row is plain (listings need it); the
 * folder's name is sealed in its own row (folders.ts). Every statement names the owner, so
 * another user's chat or folder id matches nothing.
 */
import type { SqlEngine } from './engine.ts'
import type { FolderId } from './folders.ts'
import type { ChatId, UserId } from './ids.ts'
import type { SharedWrites } from './shared-writes.ts'

/** Which chats of a folder a listing shows: Open WebUI leaves pinned and archived ones out of a folder's list. */
export type FolderChatScope = 'listed' | 'all'

/** `shared` hears of each move once committed: another instance's search index holds each chat's folder. */
export function createChatFolderRepo(sql: SqlEngine, shared: SharedWrites = { isAnnounced: false }) {
  const announce = (owner: UserId, chatId: ChatId | null) => {
    if (shared.announce !== undefined) sql.afterCommit(() => shared.announce!({ kind: 'chat', owner, chatId }))
  }
  return {
    /** The ids of the owner's chats in the folder, most recently updated first. */
    async listChatIdsInFolder(owner: UserId, folderId: FolderId, scope: FolderChatScope): Promise<ChatId[]> {
      const rows = await sql.all<{ id: string }>(scope === 'listed'
        ? 'SELECT id FROM chat WHERE user_id = ? AND folder_id = ? AND archived = 0 AND pinned = 0 ORDER BY updated_at DESC, seq DESC'
        : 'SELECT id FROM chat WHERE user_id = ? AND folder_id = ? ORDER BY updated_at DESC, seq DESC', owner, folderId)
      return rows.map((row) => row.id as ChatId)
    },
    /** Puts the owner's chat in the folder (null: in none); false when the chat is not theirs. */
    async setChatFolder(owner: UserId, chatId: ChatId, folderId: FolderId | null, at: number): Promise<boolean> {
      const isMoved = (await sql.run('UPDATE chat SET folder_id = ?, updated_at = ? WHERE id = ? AND user_id = ?', folderId, at, chatId, owner)).changes === 1
      if (isMoved) announce(owner, chatId)
      return isMoved
    },
    /** Takes every chat of the owner out of the folders, leaving them in none. */
    async unfileChats(owner: UserId, folderIds: readonly FolderId[]): Promise<void> {
      for (const folderId of folderIds) await sql.run('UPDATE chat SET folder_id = NULL WHERE user_id = ? AND folder_id = ?', owner, folderId)
      if (folderIds.length > 0) announce(owner, null)
    },
  }
}

export type ChatFolderRepo = ReturnType<typeof createChatFolderRepo>
