import type { Database } from 'bun:sqlite'
import type { DataKeyRepo } from './data-keys.ts'
import { createIdBlocks } from './id-blocks.ts'
import { newChatId, type ChatId, type MessageId, type UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'

export type Chat = {
  id: ChatId
  userId: UserId
  title: string
  pinned: boolean
  archived: boolean
  createdAt: number
  updatedAt: number
}

export type MessageRole = 'system' | 'user' | 'assistant'

export type Message = {
  id: MessageId
  chatId: ChatId
  parentId: MessageId | null
  role: MessageRole
  model: string | null
  content: string
  images: unknown[] | null
  artifacts: unknown | null
  stats: Record<string, unknown> | null
  createdAt: number
}

export type NewMessage = Pick<Message, 'role' | 'content'> & Partial<Pick<Message, 'parentId' | 'model' | 'images' | 'artifacts' | 'stats'>>

const chatTable = sealedTable('chat', { title: 'text' })
const messageTable = sealedTable('message', { model: 'text', content: 'text', images: 'json', artifacts: 'json', stats: 'json' })

type ChatRow = { seq: number; id: string; user_id: string; title: Uint8Array; pinned: number; archived: number; created_at: number; updated_at: number }
type MessageRow = {
  id: number; parent_id: number | null; role: MessageRole; created_at: number
  model: Uint8Array | null; content: Uint8Array; images: Uint8Array | null; artifacts: Uint8Array | null; stats: Uint8Array | null
}

export function createChatRepo(db: Database, keys: DataKeyRepo, now: () => number) {
  const chatColumns = 'seq, id, user_id, title, pinned, archived, created_at, updated_at'
  const messageIds = createIdBlocks(db, 'message')
  const insertChat = db.query<void, [string, string, Uint8Array, number, number]>(
    'INSERT INTO chat (id, user_id, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
  const selectChat = db.query<ChatRow, [string, string]>(`SELECT ${chatColumns} FROM chat WHERE id = ? AND user_id = ?`)
  const selectChatPage = db.query<ChatRow, [string, number, number]>(
    `SELECT ${chatColumns} FROM chat WHERE user_id = ? ORDER BY updated_at DESC, id LIMIT ? OFFSET ?`)
  const updateTitle = db.query<void, [Uint8Array, number, string, string]>('UPDATE chat SET title = ?, updated_at = ? WHERE id = ? AND user_id = ?')
  const touchChat = db.query<void, [number, number]>('UPDATE chat SET updated_at = ? WHERE seq = ?')
  const deleteChatRow = db.query<void, [string, string]>('DELETE FROM chat WHERE id = ? AND user_id = ?')
  const insertMessage = db.query<void, [number, number, number | null, MessageRole, Uint8Array | null, Uint8Array, Uint8Array | null, Uint8Array | null, Uint8Array | null, number]>(
    `INSERT INTO message (id, chat_seq, parent_id, role, model, content, images, artifacts, stats, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const selectMessages = db.query<MessageRow, [string, string]>(`
    SELECT m.id, m.parent_id, m.role, m.model, m.content, m.images, m.artifacts, m.stats, m.created_at
    FROM chat c JOIN message m ON m.chat_seq = c.seq
    WHERE c.id = ? AND c.user_id = ? ORDER BY m.id`)

  function toChat(row: ChatRow): Chat {
    const { title } = chatTable.open(row.id, row, keys.keysForOwner(row.user_id))
    return {
      id: row.id as ChatId, userId: row.user_id as UserId, title: title!, pinned: row.pinned === 1, archived: row.archived === 1,
      createdAt: row.created_at, updatedAt: row.updated_at,
    }
  }

  return {
    /** Creates an empty chat owned by the user. */
    createChat(owner: UserId, title: string): Chat {
      const id = newChatId()
      const at = now()
      insertChat.run(id, owner, chatTable.sealColumn('title', id, title, keys.keysForOwner(owner))!, at, at)
      return { id, userId: owner, title, pinned: false, archived: false, createdAt: at, updatedAt: at }
    },

    /** Returns the owner's chat, or null when it does not exist or belongs to someone else. */
    findChatForUser(owner: UserId, chatId: ChatId): Chat | null {
      const row = selectChat.get(chatId, owner)
      return row === null ? null : toChat(row)
    },

    /** Lists the owner's chats, most recently updated first. */
    listChatsForUser(owner: UserId, page: { limit: number; offset: number }): Chat[] {
      return selectChatPage.all(owner, page.limit, page.offset).map(toChat)
    },

    /** Renames the owner's chat; false when it is not theirs. */
    renameChat(owner: UserId, chatId: ChatId, title: string): boolean {
      if (selectChat.get(chatId, owner) === null) return false
      const sealed = chatTable.sealColumn('title', chatId, title, keys.keysForOwner(owner))!
      return updateTitle.run(sealed, now(), chatId, owner).changes === 1
    },

    /** Deletes the owner's chat with its messages; false when it is not theirs. */
    deleteChatForUser(owner: UserId, chatId: ChatId): boolean {
      return deleteChatRow.run(chatId, owner).changes === 1
    },

    /**
     * Appends a message to the owner's chat and returns it, or null when the chat is not theirs.
     * Costs one insert whatever the chat's length: earlier messages are never rewritten.
     */
    addMessage(owner: UserId, chatId: ChatId, input: NewMessage): Message | null {
      const append = db.transaction((): Message | null => {
        const chat = selectChat.get(chatId, owner)
        if (chat === null) return null
        const ring = keys.keysForOwner(owner)
        const id = messageIds.allocate() as MessageId
        const at = now()
        const message: Message = {
          id, chatId, parentId: input.parentId ?? null, role: input.role, model: input.model ?? null, content: input.content,
          images: input.images ?? null, artifacts: input.artifacts ?? null, stats: input.stats ?? null, createdAt: at,
        }
        const sealed = messageTable.seal(id, message, ring)
        insertMessage.run(id, chat.seq, message.parentId, message.role, sealed.model, sealed.content!, sealed.images, sealed.artifacts, sealed.stats, at)
        touchChat.run(at, chat.seq)
        return message
      })
      try {
        return append.immediate()
      } catch (error) {
        messageIds.forgetBlock()
        throw error
      }
    },

    /** Returns the messages of the owner's chat in order; empty when the chat is not theirs. */
    listMessagesInChat(owner: UserId, chatId: ChatId): Message[] {
      const rows = selectMessages.all(chatId, owner)
      if (rows.length === 0) return []
      const ring = keys.keysForOwner(owner)
      return rows.map((row) => {
        const plain = messageTable.open(row.id, row, ring)
        return {
          id: row.id as MessageId, chatId, parentId: row.parent_id as MessageId | null, role: row.role,
          model: plain.model, content: plain.content!, images: plain.images as unknown[] | null, artifacts: plain.artifacts,
          stats: plain.stats as Record<string, unknown> | null, createdAt: row.created_at,
        }
      })
    },
  }
}

export type ChatRepo = ReturnType<typeof createChatRepo>
