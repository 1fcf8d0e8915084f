import type { Database } from 'bun:sqlite'
import type { AccountChanges } from './account-changes.ts'
import type { DataKeyRepo } from './data-keys.ts'
import { chatMatches, createChatSearchIndex, indexedChat, searchableText, type IndexedChat } from './chats-search.ts'
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

/** Which of a user's chats a listing shows: the live ones (not archived), archived, or pinned and live. */
export type ChatFilter = 'live' | 'archived' | 'pinned'

export type Page = { limit: number; offset: number }
/** Every row: SQLite reads a negative LIMIT as none. */
export const ALL_ROWS: Page = { limit: -1, offset: 0 }

/** A change to a chat: a new title, and the whole linear conversation as the client holds it. */
export type ChatUpdate = { title?: string; conversation?: readonly NewMessage[] }

const chatTable = sealedTable('chat', { title: 'text' })
const messageTable = sealedTable('message', { model: 'text', content: 'text', images: 'json', artifacts: 'json', stats: 'json' })

type ChatRow = { seq: number; id: string; user_id: string; title: Uint8Array; pinned: number; archived: number; created_at: number; updated_at: number }
type ContentRow = { chat_seq: number; id: number; content: Uint8Array }
type MessageRow = {
  id: number; parent_id: number | null; role: MessageRole; created_at: number
  model: Uint8Array | null; content: Uint8Array; images: Uint8Array | null; artifacts: Uint8Array | null; stats: Uint8Array | null
}

/** Chats and their messages; deletions are announced to `changes`, so answers streaming into them stop. */
export function createChatRepo(db: Database, keys: DataKeyRepo, now: () => number, changes: AccountChanges) {
  const chatColumns = 'seq, id, user_id, title, pinned, archived, created_at, updated_at'
  const messageIds = createIdBlocks(db, 'message')
  const insertChatRow = db.query<void, [string, string, Uint8Array, number, number]>(
    'INSERT INTO chat (id, user_id, title, created_at, updated_at) VALUES (?, ?, ?, ?, ?)')
  const selectChat = db.query<ChatRow, [string, string]>(`SELECT ${chatColumns} FROM chat WHERE id = ? AND user_id = ?`)
  const selectChatPage = db.query<ChatRow, [string, number, number]>(
    `SELECT ${chatColumns} FROM chat WHERE user_id = ? ORDER BY updated_at DESC, id LIMIT ? OFFSET ?`)
  const updateTitle = db.query<void, [Uint8Array, number, string, string]>('UPDATE chat SET title = ?, updated_at = ? WHERE id = ? AND user_id = ?')
  const touchChat = db.query<void, [number, number]>('UPDATE chat SET updated_at = ? WHERE seq = ?')
  const deleteChatRow = db.query<void, [string, string]>('DELETE FROM chat WHERE id = ? AND user_id = ?')
  const deleteChatsOfUser = db.query<void, [string]>('DELETE FROM chat WHERE user_id = ?')
  // note: ordered by seq as the tie-break so chat_by_user_listing (003) serves each page, offset included.
  const filteredPage = (where: string) => db.query<ChatRow, [string, number, number]>(
    `SELECT ${chatColumns} FROM chat WHERE user_id = ? AND ${where} ORDER BY updated_at DESC, seq DESC LIMIT ? OFFSET ?`)
  const selectFilteredPage: Record<ChatFilter, ReturnType<typeof filteredPage>> = {
    live: filteredPage('archived = 0'),
    archived: filteredPage('archived = 1'),
    pinned: filteredPage('archived = 0 AND pinned = 1'),
  }
  const selectAllChats = db.query<ChatRow, [string]>(`SELECT ${chatColumns} FROM chat WHERE user_id = ?`)
  const selectAllContents = db.query<ContentRow, [string]>(`
    SELECT m.chat_seq, m.id, m.content FROM chat c JOIN message m ON m.chat_seq = c.seq WHERE c.user_id = ?`)
  const selectChatContents = db.query<ContentRow, [number]>('SELECT chat_seq, id, content FROM message WHERE chat_seq = ?')
  const updatePinned = db.query<void, [number, string, string]>('UPDATE chat SET pinned = ? WHERE id = ? AND user_id = ?')
  const updateArchived = db.query<void, [number, string, string]>('UPDATE chat SET archived = ? WHERE id = ? AND user_id = ?')
  const selectLastMessage = db.query<{ n: number; last: number | null }, [number]>(
    'SELECT count(*) AS n, max(id) AS last FROM message WHERE chat_seq = ?')
  const insertMessage = db.query<void, [number, number, number | null, MessageRole, Uint8Array | null, Uint8Array, Uint8Array | null, Uint8Array | null, Uint8Array | null, number]>(
    `INSERT INTO message (id, chat_seq, parent_id, role, model, content, images, artifacts, stats, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const updateMessageContent = db.query<void, [Uint8Array, Uint8Array | null, number, string, string]>(`
    UPDATE message SET content = ?, stats = ? WHERE id = ? AND chat_seq = (SELECT seq FROM chat WHERE id = ? AND user_id = ?)`)
  const selectMessages = db.query<MessageRow, [string, string]>(`
    SELECT m.id, m.parent_id, m.role, m.model, m.content, m.images, m.artifacts, m.stats, m.created_at
    FROM chat c JOIN message m ON m.chat_seq = c.seq
    WHERE c.id = ? AND c.user_id = ? ORDER BY m.id`)

  const search = createChatSearchIndex()

  /** Keeps the search index current after a committed write, or drops it while an outer transaction may roll back. */
  function afterWrite(owner: UserId, apply: () => void): void {
    if (db.inTransaction) search.forgetUser(owner)
    else apply()
  }

  /** Inserts one message into the chat row's conversation; call inside a transaction. */
  function insertMessageRow(owner: UserId, chat: { seq: number; id: ChatId }, input: NewMessage, at: number): Message {
    const id = messageIds.allocate() as MessageId
    const message: Message = {
      id, chatId: chat.id, parentId: input.parentId ?? null, role: input.role, model: input.model ?? null, content: input.content,
      images: input.images ?? null, artifacts: input.artifacts ?? null, stats: input.stats ?? null, createdAt: at,
    }
    const sealed = messageTable.seal(id, message, keys.keysForOwner(owner))
    insertMessage.run(id, chat.seq, message.parentId, message.role, sealed.model, sealed.content!, sealed.images, sealed.artifacts, sealed.stats, at)
    return message
  }

  /** Inserts a chat with its messages in order, each the child of the one before, in one transaction; `given` fixes its id and times. */
  function insertChat(owner: UserId, title: string, messages: readonly NewMessage[], given?: { id: ChatId; createdAt: number; updatedAt: number }): { chat: Chat; messages: Message[] } {
    const id = given?.id ?? newChatId()
    const at = given?.createdAt ?? now()
    const updatedAt = given?.updatedAt ?? at
    const chat: Chat = { id, userId: owner, title, pinned: false, archived: false, createdAt: at, updatedAt }
    const sealedTitle = chatTable.sealColumn('title', id, title, keys.keysForOwner(owner))!
    const insertedMessages: Message[] = []
    writeMessages(() => {
      const { lastInsertRowid } = insertChatRow.run(id, owner, sealedTitle, at, updatedAt)
      let parentId: MessageId | null = null
      for (const input of messages) {
        const inserted = insertMessageRow(owner, { seq: Number(lastInsertRowid), id }, { ...input, parentId: input.parentId ?? parentId }, at)
        insertedMessages.push(inserted)
        parentId = inserted.id
      }
    })
    afterWrite(owner, () => search.noteNewChat(chat, messages.map((message) => message.content)))
    return { chat, messages: insertedMessages }
  }

  /** Runs a write that may allocate message ids, forgetting the id block if it rolls back. */
  function writeMessages<T>(write: () => T): T {
    try {
      return db.transaction(write).immediate()
    } catch (error) {
      messageIds.forgetBlock()
      throw error
    }
  }

  /** Decrypts every chat of the owner with its message contents, for the search index. */
  function loadSearchable(owner: UserId): IndexedChat[] {
    const ring = keys.keysForOwner(owner)
    const contents = new Map<number, string[]>()
    for (const row of selectAllContents.all(owner)) {
      const { content } = messageTable.open(row.id, { content: row.content, model: null, images: null, artifacts: null, stats: null }, ring)
      const list = contents.get(row.chat_seq)
      if (list === undefined) contents.set(row.chat_seq, [content!])
      else list.push(content!)
    }
    return selectAllChats.all(owner).map((row) => indexedChat(toChat(row), contents.get(row.seq) ?? []))
  }

  /** Decrypts one chat of the owner with its message contents, for the search index; null when it is not there. */
  function loadSearchableChat(owner: UserId, chatId: ChatId): IndexedChat | null {
    const row = selectChat.get(chatId, owner)
    if (row === null) return null
    const ring = keys.keysForOwner(owner)
    const contents = selectChatContents.all(row.seq).map((message) => messageTable.openColumn('content', message.id, message.content, ring)!)
    return indexedChat(toChat(row), contents)
  }

  function setFlag(statement: typeof updatePinned, field: 'pinned' | 'archived', owner: UserId, chatId: ChatId, value: boolean): Chat | null {
    if (statement.run(value ? 1 : 0, chatId, owner).changes !== 1) return null
    afterWrite(owner, () => search.noteChange(owner, chatId, { [field]: value }))
    return findChat(owner, chatId)
  }

  function findChat(owner: UserId, chatId: ChatId): Chat | null {
    const row = selectChat.get(chatId, owner)
    return row === null ? null : toChat(row)
  }

  function chatFields(row: ChatRow): Omit<Chat, 'title'> {
    return {
      id: row.id as ChatId, userId: row.user_id as UserId, pinned: row.pinned === 1, archived: row.archived === 1,
      createdAt: row.created_at, updatedAt: row.updated_at,
    }
  }

  function toChat(row: ChatRow): Chat {
    const { title } = chatTable.open(row.id, row, keys.keysForOwner(row.user_id))
    return { ...chatFields(row), title: title! }
  }

  return {
    /**
     * Creates a chat owned by the user, with the given messages in order, each the child of the one
     * before. `imported` keeps an id and times from elsewhere (an import).
     */
    createChat(owner: UserId, title: string, messages: readonly NewMessage[] = [], imported?: { id: ChatId; createdAt: number; updatedAt: number }): Chat {
      return insertChat(owner, title, messages, imported).chat
    },

    /** Creates the chat `id` (from `newChatId`) with its first message, in one transaction; returns both. */
    startChat(owner: UserId, id: ChatId, title: string, first: NewMessage): { chat: Chat; message: Message } {
      const at = now()
      const { chat, messages } = insertChat(owner, title, [first], { id, createdAt: at, updatedAt: at })
      return { chat, message: messages[0]! }
    },

    /** Returns the owner's chat, or null when it does not exist or belongs to someone else. */
    findChatForUser(owner: UserId, chatId: ChatId): Chat | null {
      return findChat(owner, chatId)
    },

    /** Lists the owner's chats, most recently updated first. */
    listChatsForUser(owner: UserId, page: Page): Chat[] {
      return selectChatPage.all(owner, page.limit, page.offset).map(toChat)
    },

    /** Lists one page of the owner's live, archived or pinned chats, most recently updated first. */
    listFilteredChatsForUser(owner: UserId, filter: ChatFilter, page: Page): Chat[] {
      // note: titles already decrypted for search are reused, unless a write in progress may roll back.
      const cached = (row: ChatRow) => (db.inTransaction ? undefined : search.cachedTitleOf(owner, row.id as ChatId))
      return selectFilteredPage[filter].all(owner, page.limit, page.offset).map((row) => {
        const title = cached(row)
        return title === undefined ? toChat(row) : { ...chatFields(row), title }
      })
    },

    /**
     * Lists one page of the owner's live chats whose title or any message contains the text, ignoring
     * case, most recently updated first. Decrypts the owner's chats once into a memory-only index.
     */
    searchChatsForUser(owner: UserId, text: string, page: Page): Chat[] {
      const query = searchableText(text)
      const matches: Chat[] = []
      const cacheable = !db.inTransaction
      for (const entry of search.chatsOf(owner, () => loadSearchable(owner), (chatId) => loadSearchableChat(owner, chatId), cacheable)) {
        if (!entry.chat.archived && chatMatches(entry, query)) matches.push(entry.chat)
      }
      matches.sort((a, b) => b.updatedAt - a.updatedAt || b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1))
      return matches.slice(page.offset, page.offset + page.limit)
    },

    /** Renames the owner's chat; false when it is not theirs. */
    renameChat(owner: UserId, chatId: ChatId, title: string): boolean {
      if (selectChat.get(chatId, owner) === null) return false
      const sealed = chatTable.sealColumn('title', chatId, title, keys.keysForOwner(owner))!
      const at = now()
      if (updateTitle.run(sealed, at, chatId, owner).changes !== 1) return false
      afterWrite(owner, () => search.noteChange(owner, chatId, { title, updatedAt: at }))
      return true
    },

    /**
     * Applies a client's copy of the owner's chat: the new title, and the messages of its linear
     * conversation past those already stored, appended in order, each the child of the one before.
     * Earlier messages are never rewritten. Returns the chat, or null when it is not theirs.
     */
    updateChatForUser(owner: UserId, chatId: ChatId, update: ChatUpdate): Chat | null {
      const ring = keys.keysForOwner(owner)
      const at = now()
      const added = writeMessages((): string[] | null => {
        const chat = selectChat.get(chatId, owner)
        if (chat === null) return null
        if (update.title !== undefined) updateTitle.run(chatTable.sealColumn('title', chatId, update.title, ring)!, at, chatId, owner)
        const stored = selectLastMessage.get(chat.seq)!
        const fresh = (update.conversation ?? []).slice(stored.n)
        let parentId = stored.last as MessageId | null
        for (const input of fresh) parentId = insertMessageRow(owner, { seq: chat.seq, id: chatId }, { ...input, parentId: input.parentId ?? parentId }, at).id
        if (fresh.length > 0) touchChat.run(at, chat.seq)
        return fresh.map((message) => message.content)
      })
      if (added === null) return null
      const changed = update.title !== undefined || added.length > 0
      if (changed) afterWrite(owner, () => search.noteChange(owner, chatId, { ...(update.title === undefined ? {} : { title: update.title }), updatedAt: at, addedContents: added }))
      return findChat(owner, chatId)
    },

    /** Pins or unpins the owner's chat and returns it, or null when it is not theirs. */
    setChatPinned(owner: UserId, chatId: ChatId, pinned: boolean): Chat | null {
      return setFlag(updatePinned, 'pinned', owner, chatId, pinned)
    },

    /** Archives or restores the owner's chat and returns it, or null when it is not theirs. */
    setChatArchived(owner: UserId, chatId: ChatId, archived: boolean): Chat | null {
      return setFlag(updateArchived, 'archived', owner, chatId, archived)
    },

    /** Deletes the owner's chat with its messages; false when it is not theirs. */
    deleteChatForUser(owner: UserId, chatId: ChatId): boolean {
      if (deleteChatRow.run(chatId, owner).changes !== 1) return false
      afterWrite(owner, () => search.forgetChat(owner, chatId))
      changes.chatsDeleted(owner)
      return true
    },

    /** Deletes every chat of the owner with their messages; returns how many went. */
    deleteAllChatsForUser(owner: UserId): number {
      const deleted = deleteChatsOfUser.run(owner).changes
      search.forgetUser(owner)
      if (deleted > 0) changes.chatsDeleted(owner)
      return deleted
    },

    /** Drops the owner's decrypted search index from memory; call when their account is deleted. */
    forgetSearchIndexForUser(owner: UserId): void {
      search.forgetUser(owner)
    },

    /**
     * Appends a message to the owner's chat and returns it, or null when the chat is not theirs.
     * Costs one insert whatever the chat's length: earlier messages are never rewritten.
     */
    addMessage(owner: UserId, chatId: ChatId, input: NewMessage): Message | null {
      const message = writeMessages((): Message | null => {
        const chat = selectChat.get(chatId, owner)
        if (chat === null) return null
        const at = now()
        const inserted = insertMessageRow(owner, { seq: chat.seq, id: chatId }, input, at)
        touchChat.run(at, chat.seq)
        return inserted
      })
      if (message !== null) afterWrite(owner, () => search.noteChange(owner, chatId, { updatedAt: message.createdAt, addedContents: [message.content] }))
      return message
    },

    /**
     * Rewrites the content and stats of one message in the owner's chat: the answer in progress,
     * checkpointed while it streams. Returns false when the message is not in a chat of theirs.
     */
    replaceMessageContentForUser(owner: UserId, chatId: ChatId, messageId: MessageId, update: Pick<Message, 'content' | 'stats'>): boolean {
      const ring = keys.keysForOwner(owner)
      const content = messageTable.sealColumn('content', messageId, update.content, ring)!
      const stats = messageTable.sealColumn('stats', messageId, update.stats, ring)
      if (updateMessageContent.run(content, stats, messageId, chatId, owner).changes !== 1) return false
      // note: an answer is rewritten every second while it streams: only its chat is read again, at the next search.
      afterWrite(owner, () => search.noteRewrite(owner, chatId))
      return true
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
