/**
 * Shared chats: a snapshot of a chat taken when its owner shares it, readable through its link
 * by any signed-in user. The server opens a share for whoever holds the link, so the snapshot is
 * sealed under the system data key (not the owner's), with the share id in its AAD. A share goes
 * when its owner revokes it, with its chat (ON DELETE CASCADE), and with its owner's account.
 * Share ids are random UUIDs: the link is the only way to name a share.
 */
import type { SqlEngine } from './engine.ts'
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

export function createChatShareRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number) {
  const selectChat = (chatId: string, owner: string) => sql.get<{ seq: number }>('SELECT seq FROM chat WHERE id = ? AND user_id = ?', chatId, owner)
  const selectOfChat = (chatId: string, owner: string) => sql.get<{ id: string }>(
    'SELECT s.id FROM chat_share s JOIN chat c ON c.seq = s.chat_seq WHERE c.id = ? AND c.user_id = ?', chatId, owner)

  const seal = async (id: string, snapshot: ChatTree) => shareTable.sealColumn('snapshot', id, snapshot, await keys.ringFor(SYSTEM_OWNER))!

  return {
    /**
     * Shares the owner's chat as `snapshot` (the chat as it is now), or renews the snapshot of its
     * existing share, keeping the link; returns the share id, or null when the chat is not theirs.
     */
    shareChat(owner: UserId, chatId: ChatId, snapshot: ChatTree): Promise<ShareId | null> {
      return sql.transaction(async () => {
        const chat = await selectChat(chatId, owner)
        if (chat === null) return null
        const at = now()
        const existing = await selectOfChat(chatId, owner)
        if (existing !== null) {
          await sql.run('UPDATE chat_share SET snapshot = ?, updated_at = ? WHERE id = ?', await seal(existing.id, snapshot), at, existing.id)
          return existing.id as ShareId
        }
        const id = crypto.randomUUID() as ShareId
        await sql.run('INSERT INTO chat_share (id, chat_seq, snapshot, created_at, updated_at) VALUES (?, ?, ?, ?, ?)', id, chat.seq, await seal(id, snapshot), at, at)
        return id
      })
    },

    /** The id of the share of the owner's chat, or null when it is not shared (or not theirs). */
    async findShareIdOfChat(owner: UserId, chatId: ChatId): Promise<ShareId | null> {
      return ((await selectOfChat(chatId, owner))?.id ?? null) as ShareId | null
    },

    /** Opens a share by its id, for any signed-in reader; null when there is none. */
    async readShare(id: ShareId): Promise<ChatShare | null> {
      const row = await sql.get<ShareRow>(
        'SELECT s.id, c.id AS chat_id, s.snapshot, s.created_at, s.updated_at FROM chat_share s JOIN chat c ON c.seq = s.chat_seq WHERE s.id = ?', id)
      if (row === null) return null
      const snapshot = shareTable.openColumn('snapshot', row.id, row.snapshot, await keys.ringFor(SYSTEM_OWNER)) as ChatTree
      return { id, chatId: row.chat_id as ChatId, snapshot, createdAt: row.created_at, updatedAt: row.updated_at }
    },

    /** The owner's shares (share id and chat id), the most recently shared first. */
    async listSharesOfOwner(owner: UserId, page: { limit: number; offset: number }): Promise<{ id: ShareId; chatId: ChatId }[]> {
      const rows = await sql.all<{ id: string; chat_id: string }>(
        'SELECT s.id, c.id AS chat_id FROM chat_share s JOIN chat c ON c.seq = s.chat_seq WHERE c.user_id = ? ORDER BY s.updated_at DESC, s.id LIMIT ? OFFSET ?', owner, page.limit, page.offset)
      return rows.map((row) => ({ id: row.id as ShareId, chatId: row.chat_id as ChatId }))
    },

    /** Revokes the share of the owner's chat; false when it had none (or is not theirs). */
    async unshareChat(owner: UserId, chatId: ChatId): Promise<boolean> {
      const chat = await selectChat(chatId, owner)
      return chat !== null && (await sql.run('DELETE FROM chat_share WHERE chat_seq = ?', chat.seq)).changes === 1
    },
  }
}

export type ChatShareRepo = ReturnType<typeof createChatShareRepo>
