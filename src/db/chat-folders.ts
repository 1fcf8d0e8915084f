/**
 * Which folder each chat is in. The folder id on a chat row is plain (listings need it); the
 * folder's name is sealed in its own row (folders.ts). Every statement names the owner, so
 * another user's chat or folder id matches nothing.
 */
import type { Database } from 'bun:sqlite'
import type { FolderId } from './folders.ts'
import type { ChatId, UserId } from './ids.ts'

/** Which chats of a folder a listing shows: Open WebUI leaves pinned and archived ones out of a folder's list. */
export type FolderChatScope = 'listed' | 'all'

export function createChatFolderRepo(db: Database) {
  const selectListed = db.query<{ id: string }, [string, string]>(
    'SELECT id FROM chat WHERE user_id = ? AND folder_id = ? AND archived = 0 AND pinned = 0 ORDER BY updated_at DESC, seq DESC')
  const selectAll = db.query<{ id: string }, [string, string]>('SELECT id FROM chat WHERE user_id = ? AND folder_id = ? ORDER BY updated_at DESC, seq DESC')
  const updateFolder = db.query<void, [string | null, number, string, string]>('UPDATE chat SET folder_id = ?, updated_at = ? WHERE id = ? AND user_id = ?')
  const unfile = db.query<void, [string, string]>('UPDATE chat SET folder_id = NULL WHERE user_id = ? AND folder_id = ?')

  return {
    /** The ids of the owner's chats in the folder, most recently updated first. */
    listChatIdsInFolder(owner: UserId, folderId: FolderId, scope: FolderChatScope): ChatId[] {
      return (scope === 'listed' ? selectListed : selectAll).all(owner, folderId).map((row) => row.id as ChatId)
    },
    /** Puts the owner's chat in the folder (null: in none); false when the chat is not theirs. */
    setChatFolder(owner: UserId, chatId: ChatId, folderId: FolderId | null, at: number): boolean {
      return updateFolder.run(folderId, at, chatId, owner).changes === 1
    },
    /** Takes every chat of the owner out of the folders, leaving them in none. */
    unfileChats(owner: UserId, folderIds: readonly FolderId[]): void {
      for (const folderId of folderIds) unfile.run(owner, folderId)
    },
  }
}

export type ChatFolderRepo = ReturnType<typeof createChatFolderRepo>
