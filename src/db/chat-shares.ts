/**
 * Shared chats: a snapshot of a chat taken when its owner shares it, readable through its link
 * by any signed-in user. The server opens a share for whoever holds the link, so the snapshot is
 * sealed under the system data key (not the owner's), with the share id in its AAD. A share goes
 * when its owner revokes it, with its chat (ON DELETE CASCADE), and with its owner's account.
 * Share ids are random UUIDs: the link is the only way to name a share.
 */
import type { Database } from 'bun:sqlite'
import type { ChatTree } from './chat-tree.ts'
import { SYSTEM_OWNER, type DataKeyRepo } from './data-keys.ts'
import type { ChatId, UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'

const shareTable = sealedTable('chat_share', { snapshot: 'json' })

export type ShareId = string & { readonly brand: 'ShareId' }

/** A share as its readers see it: the chat as it was when shared, and when that was. */
export type ChatShare = { id: ShareId; chatId: ChatId; snapshot: ChatTree; createdAt: number; updatedAt: number }

type ShareRow = { id: string; chat_id: string; snapshot: Uint8Array; created_at: number; updated_at: number }

const shareIdPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

/** Reads a share id from outside input, or null when it can't be one. */
export const parseShareId = (raw: string): ShareId | null => (shareIdPattern.test(raw) ? (raw as ShareId) : null)

export function createChatShareRepo(db: Database, keys: DataKeyRepo, now: () => number) {
  const selectChat = db.query<{ seq: number }, [string, string]>('SELECT seq FROM chat WHERE id = ? AND user_id = ?')
  const selectOfChat = db.query<{ id: string }, [string, string]>(
    'SELECT s.id FROM chat_share s JOIN chat c ON c.seq = s.chat_seq WHERE c.id = ? AND c.user_id = ?')
  const selectShare = db.query<ShareRow, [string]>(
    'SELECT s.id, c.id AS chat_id, s.snapshot, s.created_at, s.updated_at FROM chat_share s JOIN chat c ON c.seq = s.chat_seq WHERE s.id = ?')
  const insert = db.query<void, [string, number, Uint8Array, number, number]>(
    'INSERT INTO chat_share (id, chat_seq, snapshot, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
  const update = db.query<void, [Uint8Array, number, string]>('UPDATE chat_share SET snapshot = ?, updated_at = ? WHERE id = ?')
  const remove = db.query<void, [number]>('DELETE FROM chat_share WHERE chat_seq = ?')

  const seal = (id: string, snapshot: ChatTree) => shareTable.sealColumn('snapshot', id, snapshot, keys.keysForOwner(SYSTEM_OWNER))!

  return {
    /**
     * Shares the owner's chat as `snapshot` (the chat as it is now), or renews the snapshot of its
     * existing share, keeping the link; returns the share id, or null when the chat is not theirs.
     */
    shareChat(owner: UserId, chatId: ChatId, snapshot: ChatTree): ShareId | null {
      return db.transaction(() => {
        const chat = selectChat.get(chatId, owner)
        if (chat === null) return null
        const at = now()
        const existing = selectOfChat.get(chatId, owner)
        if (existing !== null) {
          update.run(seal(existing.id, snapshot), at, existing.id)
          return existing.id as ShareId
        }
        const id = crypto.randomUUID() as ShareId
        insert.run(id, chat.seq, seal(id, snapshot), at, at)
        return id
      }).immediate()
    },

    /** The id of the share of the owner's chat, or null when it is not shared (or not theirs). */
    findShareIdOfChat(owner: UserId, chatId: ChatId): ShareId | null {
      return (selectOfChat.get(chatId, owner)?.id ?? null) as ShareId | null
    },

    /** Opens a share by its id, for any signed-in reader; null when there is none. */
    readShare(id: ShareId): ChatShare | null {
      const row = selectShare.get(id)
      if (row === null) return null
      const snapshot = shareTable.openColumn('snapshot', row.id, row.snapshot, keys.keysForOwner(SYSTEM_OWNER)) as ChatTree
      return { id, chatId: row.chat_id as ChatId, snapshot, createdAt: row.created_at, updatedAt: row.updated_at }
    },

    /** Revokes the share of the owner's chat; false when it had none (or is not theirs). */
    unshareChat(owner: UserId, chatId: ChatId): boolean {
      const chat = selectChat.get(chatId, owner)
      return chat !== null && remove.run(chat.seq).changes === 1
    },
  }
}

export type ChatShareRepo = ReturnType<typeof createChatShareRepo>
