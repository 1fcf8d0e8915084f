/**
 * The chat repository: a user's chats, each a tree of messages (chat-tree.ts), a chat sealed per
 * field and a message as one value (message-rows.ts). Every lookup names the owner, so another
 * user's chat id finds nothing. Appending a message is one insert and one small chat-row update
 * whatever the chat's size; a whole-chat save rewrites only the messages that changed (chat-save.ts).
 */
import type { Database } from 'bun:sqlite'
import type { AccountChanges } from './account-changes.ts'
import { isSaveProblem, planChatSave, type PlannedAgainst, type SaveProblem } from './chat-save.ts'
import { createChatRows, type ChatFilter, type ChatRow, type Page } from './chat-rows.ts'
import {
  CHAT_LIMITS, EMPTY_SETTINGS, newestLeaf, pathThrough, pathTo, subtreeOf,
  type Chat, type ChatContent, type ChatSettings, type ChatTree, type Message, type MessagePatch, type NewMessage,
} from './chat-tree.ts'
import { chatMatches, createChatSearchIndex, indexedChat, searchableText, type IndexedChat } from './chats-search.ts'
import type { DataKeyRepo, KeyRing } from './data-keys.ts'
import { createIdBlocks } from './id-blocks.ts'
import { newChatId, type ChatId, type MessageId, type UserId } from './ids.ts'
import { createMessageRows, hasSameClientFields, type StoredMessage } from './message-rows.ts'
import { createChatHistoryCache, type CachedChatKey, type HistoryCacheLimits, type HistoryCacheSize, type OpenedChat } from './chat-history-cache.ts'

/** Every row: SQLite reads a negative LIMIT as none. */
export const ALL_ROWS: Page = { limit: -1, offset: 0 }

/** An id and times from elsewhere (an import), and the flags it had there. */
export type ImportedChat = { id: ChatId; createdAt: number; updatedAt: number; pinned?: boolean; archived?: boolean }

/** What a whole-chat save did: how many message rows it inserted, rewrote and removed. */
export type SaveCounts = { inserted: number; rewritten: number; removed: number }
export type SaveResult =
  | { ok: true; chat: Chat; counts: SaveCounts }
  | { ok: false; reason: 'chat_not_found' | 'too_large' }
  | ({ ok: false; reason: 'bad_tree' } & SaveProblem)

/** Chats and their messages; deletions are announced to `changes`, so answers streaming into them stop. */
export function createChatRepo(db: Database, keys: DataKeyRepo, now: () => number, changes: AccountChanges, historyLimits?: HistoryCacheLimits) {
  const messageIds = createIdBlocks(db, 'message')
  const rows = createMessageRows(db)
  const chats = createChatRows(db, keys)

  const search = createChatSearchIndex()
  const history = createChatHistoryCache(changes, now, historyLimits)
  const selectDataVersion = db.query<{ data_version: number }, []>('PRAGMA data_version')
  let seenDataVersion = selectDataVersion.get()!.data_version
  const keyOf = (row: Pick<ChatRow, 'seq' | 'id' | 'user_id'>): CachedChatKey => ({ seq: row.seq, chatId: row.id as ChatId, owner: row.user_id as UserId })

  /**
   * The owner's chat row, opened: from the history cache, or from the rows (then held). Inside an
   * outer transaction, which may roll back, the rows are read and nothing is held.
   */
  function openChat(row: ChatRow, ring: KeyRing): OpenedChat {
    const open = () => rows.list(row.seq, row.id as ChatId, ring)
    if (db.inTransaction) {
      const messages = open()
      const byId = new Map(messages.map((message) => [message.id, message]))
      return { get: (id) => byId.get(id), list: () => messages }
    }
    forgetIfOthersWrote()
    return history.chatOf(keyOf(row), ring, open)
  }

  /** The chat when it is held and may be used: not inside an outer transaction (`isNested`), and nothing else wrote the file. */
  function heldChat(row: ChatRow, ring: KeyRing, isNested: boolean): OpenedChat | null {
    if (isNested) return null
    forgetIfOthersWrote()
    return history.heldChat(keyOf(row), ring)
  }

  /** Drops every held chat when another connection (a tool on the same file) wrote: nothing held may be what the rows hold now. */
  function forgetIfOthersWrote(): void {
    const version = selectDataVersion.get()!.data_version
    if (version === seenDataVersion) return
    history.clear()
    seenDataVersion = version
  }

  /** Applies a committed write of messages to the history cache, or drops the chat while an outer transaction may roll back. */
  function afterMessagesWritten(row: Pick<ChatRow, 'seq' | 'id' | 'user_id'>, ring: KeyRing, stored: readonly Message[], removed: readonly MessageId[] = []): void {
    if (db.inTransaction) history.forgetChat(row.seq)
    else history.noteWritten(keyOf(row), ring, stored, removed)
  }

  /** Keeps the search index current after a committed write, or drops it while an outer transaction may roll back. */
  function afterWrite(owner: UserId, apply: () => void): void {
    if (db.inTransaction) search.forgetUser(owner)
    else apply()
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

  const allocate = () => messageIds.allocate() as MessageId

  /** A client id for a message the server makes: its internal id, unless the chat already uses that. */
  const serverUid = (chatSeq: number, id: MessageId) => (rows.idOfUid(chatSeq, String(id)) === null ? String(id) : crypto.randomUUID())

  /** Inserts one message under `parentId` (undefined: the chat's selected leaf) and selects it; call inside a transaction. */
  function appendMessage(owner: UserId, chat: Pick<ChatRow, 'seq' | 'id' | 'current_id'>, input: NewMessage, at: number): Message {
    const id = allocate()
    const message: Message = {
      id, uid: input.uid ?? serverUid(chat.seq, id), chatId: chat.id as ChatId,
      parentId: input.parentId === undefined ? chat.current_id as MessageId | null : input.parentId,
      role: input.role, model: input.model ?? null, content: input.content, images: input.images ?? null, artifacts: input.artifacts ?? null,
      stats: input.stats ?? null, status: input.status ?? null, error: input.error ?? null, usage: input.usage ?? null,
      sources: input.sources ?? null, files: input.files ?? null, extra: input.extra ?? null, createdAt: input.createdAt ?? at,
    }
    rows.insert(chat.seq, message, keys.keysForOwner(owner))
    chat.current_id = id
    return message
  }

  /** Inserts a chat with the given content; `given` fixes its id, times and flags. Call inside writeMessages. */
  function insertChatRows(owner: UserId, content: ChatContent, given?: ImportedChat): { chat: Chat; seq: number; messages: Message[] } {
    const id = given?.id ?? newChatId()
    const at = given?.createdAt ?? now()
    const updatedAt = given?.updatedAt ?? at
    const ring = keys.keysForOwner(owner)
    const title = content.title ?? 'New Chat'
    const folderId = content.folderId ?? null
    const pinned = given?.pinned ?? false
    const archived = given?.archived ?? false
    const seq = chats.insert({ id, userId: owner, title, pinned, archived, folderId, createdAt: at, updatedAt, settings: { ...EMPTY_SETTINGS, ...content.settings } })
    let messages: Message[] = []
    let currentId: MessageId | null = null
    if (content.messages !== undefined) {
      const plan = planChatSave(id, [], null, content.messages, allocate, at, () => false)
      if (isSaveProblem(plan)) throw new BadTreeError(plan)
      for (const message of plan.inserts) rows.insert(seq, message, ring)
      chats.select(seq, plan.currentId)
      messages = plan.inserts
      currentId = plan.currentId
    }
    return { chat: { id, userId: owner, title, pinned, archived, folderId, currentId, createdAt: at, updatedAt }, seq, messages }
  }

  /** Creates a chat with the given content in one transaction. */
  function insertChat(owner: UserId, content: ChatContent, given?: ImportedChat): Chat {
    const { chat, messages } = writeMessages(() => insertChatRows(owner, content, given))
    afterWrite(owner, () => search.noteNewChat(chat, messages.map((message) => message.content)))
    return chat
  }

  /** Decrypts every chat of the owner with its message contents, for the search index. */
  function loadSearchable(owner: UserId): IndexedChat[] {
    const contents = rows.contentsOfOwner(owner, keys.keysForOwner(owner))
    return chats.allOf(owner).map((row) => indexedChat(toChat(row), contents.get(row.seq) ?? []))
  }

  /** Decrypts one chat of the owner with its message contents, for the search index; null when it is not there. */
  function loadSearchableChat(owner: UserId, chatId: ChatId): IndexedChat | null {
    const row = chats.find(owner, chatId)
    return row === null ? null : indexedChat(toChat(row), rows.contentsOf(row.seq, chatId, keys.keysForOwner(owner)))
  }

  function setFlag(field: 'pinned' | 'archived', owner: UserId, chatId: ChatId, value: boolean): Chat | null {
    if (!chats.setFlag(owner, chatId, field, value)) return null
    afterWrite(owner, () => search.noteChange(owner, chatId, { [field]: value }))
    return findChat(owner, chatId)
  }

  function findChat(owner: UserId, chatId: ChatId): Chat | null {
    const row = chats.find(owner, chatId)
    return row === null ? null : toChat(row)
  }

  const toChat = (row: ChatRow): Chat => ({ ...chats.fieldsOf(row), title: chats.titleOf(row) })

  /** Opens the owner's whole chat; null when it is not theirs. */
  function readTree(owner: UserId, chatId: ChatId): ChatTree | null {
    const row = chats.find(owner, chatId)
    if (row === null) return null
    return { chat: toChat(row), settings: chats.settingsOf(row), messages: openChat(row, keys.keysForOwner(owner)).list() as Message[] }
  }

  /** Applies a whole-chat save in one transaction; see saveChatForUser. */
  function save(owner: UserId, chatId: ChatId, content: ChatContent): SaveResult {
    const ring = keys.keysForOwner(owner)
    const at = now()
    const isNested = db.inTransaction
    let written: { row: ChatRow; stored: Message[]; removed: MessageId[] } | null = null
    const result = writeMessages((): SaveResult => {
      const row = chats.find(owner, chatId)
      if (row === null) return { ok: false, reason: 'chat_not_found' }
      // note: a held chat tells what changed by comparing plaintext, and gives the stats and artifacts kept, without a digest or an opening per message.
      const held = heldChat(row, ring, isNested)
      const storedSettings = chats.settingsOf(row)
      const incoming = content.settings ?? {}
      const settings: ChatSettings = {
        ...storedSettings, ...incoming,
        extra: incoming.extra === undefined ? storedSettings.extra : { ...storedSettings.extra, ...incoming.extra },
      }
      // note: other fields merge key by key, so saves could grow them past what one save may send.
      if (JSON.stringify(settings.extra ?? {}).length > CHAT_LIMITS.jsonBytes) return { ok: false, reason: 'too_large' }
      let currentId = row.current_id as MessageId | null
      const counts: SaveCounts = { inserted: 0, rewritten: 0, removed: 0 }
      if (content.messages !== undefined) {
        // note: a held chat has every stored message's place and plain fields: the rows need not be read.
        const stored: readonly PlannedAgainst[] = held === null ? rows.listStored(row.seq) : held.list()
        const sameContent = held === null
          ? (known: PlannedAgainst, next: Message) => rows.hasSameContent(row.seq, chatId, known as StoredMessage, next, ring)
          : (known: PlannedAgainst, next: Message) => hasSameClientFields(held.get(known.id)!, next)
        const plan = planChatSave(chatId, stored, currentId, content.messages, allocate, at, sameContent)
        if (isSaveProblem(plan)) throw new BadTreeError(plan)
        for (const id of plan.removes) rows.remove(row.seq, id)
        const rewritten = plan.rewrites.map((message) => {
          // note: Enclave's own fields, which Open WebUI's clients never see, stay as the server wrote them.
          const old = held?.get(message.id) ?? rows.find(row.seq, chatId, message.id, ring)!
          const next = { ...message, stats: old.stats, artifacts: old.artifacts }
          rows.rewrite(row.seq, next, ring)
          return next
        })
        for (const message of plan.inserts) rows.insert(row.seq, message, ring)
        written = { row, stored: [...rewritten, ...plan.inserts], removed: plan.removes }
        counts.inserted = plan.inserts.length
        counts.rewritten = plan.rewrites.length
        counts.removed = plan.removes.length
        currentId = plan.currentId
      }
      const title = content.title ?? toChat(row).title
      const folderId = content.folderId === undefined ? row.folder_id : content.folderId
      chats.writeContent(row, { title, settings, folderId, currentId }, at)
      return { ok: true, chat: { ...chats.fieldsOf(row), title, folderId, currentId, updatedAt: at }, counts }
    })
    const done = written as { row: ChatRow; stored: Message[]; removed: MessageId[] } | null // note: assigned in the transaction, which TypeScript does not follow
    if (result.ok && done !== null) afterMessagesWritten(done.row, ring, done.stored, done.removed)
    if (result.ok) {
      afterWrite(owner, () => {
        search.noteChange(owner, chatId, { title: result.chat.title, updatedAt: at })
        if (result.counts.inserted + result.counts.rewritten + result.counts.removed > 0) search.noteRewrite(owner, chatId)
      })
    }
    return result
  }

  return {
    /**
     * Creates a chat owned by the user, with the given messages in order, each the child of the one
     * before. `imported` keeps an id and times from elsewhere (an import).
     */
    createChat(owner: UserId, title: string, messages: readonly NewMessage[] = [], imported?: ImportedChat): Chat {
      const list = messages.map((message) => ({ ...message, uid: message.uid ?? null, createdAt: message.createdAt ?? null }))
      return insertChat(owner, { title, messages: { kind: 'list', messages: list } }, imported)
    },

    /**
     * Creates a chat owned by the user from a whole chat as a client holds it (a tree, its settings);
     * `imported` keeps an id, times and flags from elsewhere. Throws BadTreeError for a tree the
     * edge should have refused (a parent not listed before its child, an id twice).
     */
    createChatFromContent(owner: UserId, content: ChatContent, imported?: ImportedChat): Chat {
      return insertChat(owner, content, imported)
    },

    /** Creates the chat `id` (from `newChatId`) with its first message, in one transaction; returns both. */
    startChat(owner: UserId, id: ChatId, title: string, first: NewMessage): { chat: Chat; message: Message } {
      const at = now()
      const created = writeMessages(() => {
        const { chat, seq } = insertChatRows(owner, { title }, { id, createdAt: at, updatedAt: at })
        const message = appendMessage(owner, { seq, id, current_id: null }, first, at)
        chats.select(seq, message.id)
        return { chat: { ...chat, currentId: message.id }, message }
      })
      afterWrite(owner, () => search.noteNewChat(created.chat, [created.message.content]))
      return created
    },

    /** Returns the owner's chat, or null when it does not exist or belongs to someone else. */
    findChatForUser(owner: UserId, chatId: ChatId): Chat | null {
      return findChat(owner, chatId)
    },

    /** Whose chat this is, or null when there is none: only for an admin's audited read of another user's chat. */
    findChatOwner(chatId: ChatId): UserId | null {
      return (db.query<{ user_id: string }, [string]>('SELECT user_id FROM chat WHERE id = ?').get(chatId)?.user_id ?? null) as UserId | null
    },

    /** Lists the owner's chats, most recently updated first. */
    listChatsForUser(owner: UserId, page: Page): Chat[] {
      return chats.page(owner, page).map(toChat)
    },

    /** Lists one page of the owner's live, archived or pinned chats, most recently updated first. */
    listFilteredChatsForUser(owner: UserId, filter: ChatFilter, page: Page): Chat[] {
      // note: titles already decrypted for search are reused, unless a write in progress may roll back.
      const cached = (row: ChatRow) => (db.inTransaction ? undefined : search.cachedTitleOf(owner, row.id as ChatId))
      return chats.filteredPage(owner, filter, page).map((row) => {
        const title = cached(row)
        return title === undefined ? toChat(row) : { ...chats.fieldsOf(row), title }
      })
    },

    /**
     * Lists one page of the owner's live chats whose title or any message (of any branch) contains
     * the text, ignoring case, most recently updated first. Decrypts the owner's chats once into a
     * memory-only index.
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
      const at = now()
      if (!chats.rename(owner, chatId, title, at)) return false
      afterWrite(owner, () => search.noteChange(owner, chatId, { title, updatedAt: at }))
      return true
    },

    /**
     * Replaces the owner's chat with a whole chat as a client holds it, as Open WebUI does: fields
     * left undefined keep what is stored (`settings.extra` merges key by key); when messages are
     * given, new ones are inserted, changed ones rewritten (only those), and stored ones not given
     * removed. Safe to retry: the same save twice writes no message the second time.
     */
    saveChatForUser(owner: UserId, chatId: ChatId, content: ChatContent): SaveResult {
      try {
        return save(owner, chatId, content)
      } catch (error) {
        if (error instanceof BadTreeError) return { ok: false, reason: 'bad_tree', ...error.problem }
        throw error
      }
    },

    /** Pins or unpins the owner's chat and returns it, or null when it is not theirs. */
    setChatPinned(owner: UserId, chatId: ChatId, pinned: boolean): Chat | null {
      return setFlag('pinned', owner, chatId, pinned)
    },

    /** Archives or restores the owner's chat and returns it, or null when it is not theirs. */
    setChatArchived(owner: UserId, chatId: ChatId, archived: boolean): Chat | null {
      return setFlag('archived', owner, chatId, archived)
    },

    /** Deletes the owner's chat with its messages; false when it is not theirs. */
    deleteChatForUser(owner: UserId, chatId: ChatId): boolean {
      if (!chats.remove(owner, chatId)) return false
      afterWrite(owner, () => search.forgetChat(owner, chatId))
      changes.chatsDeleted(owner)
      return true
    },

    /** Deletes every chat of the owner with their messages; returns how many went. */
    deleteAllChatsForUser(owner: UserId): number {
      const removed = chats.removeAllOf(owner)
      search.forgetUser(owner)
      if (removed > 0) changes.chatsDeleted(owner)
      return removed
    },

    /** How many chats, messages and (estimated) bytes of opened history are held in memory now (chat-history-cache.ts). */
    historyCacheSize(): HistoryCacheSize {
      return history.size()
    },

    /** Drops held chats not used lately; reads sweep too, this is for a quiet server. */
    sweepIdleHistory(): void {
      history.sweepIdle()
    },

    /** Drops the owner's decrypted search index from memory; call when their account is deleted. */
    forgetSearchIndexForUser(owner: UserId): void {
      search.forgetUser(owner)
    },

    /**
     * Adds a message to the owner's chat under `input.parentId` (undefined: under the selected
     * leaf; null: a new root), selects it, and returns it; null when the chat is not theirs or the
     * parent is not in it. Costs one insert whatever the chat's size.
     */
    addMessage(owner: UserId, chatId: ChatId, input: NewMessage): Message | null {
      let row: ChatRow | null = null
      const message = writeMessages((): Message | null => {
        const chat = row = chats.find(owner, chatId)
        if (chat === null) return null
        if (input.parentId !== undefined && input.parentId !== null && !rows.has(chat.seq, input.parentId)) return null
        const at = now()
        const inserted = appendMessage(owner, chat, input, at)
        chats.touch(chat.seq, at, inserted.id)
        return inserted
      })
      if (message !== null) afterMessagesWritten(row!, keys.keysForOwner(owner), [message])
      if (message !== null) afterWrite(owner, () => search.noteChange(owner, chatId, { updatedAt: message.createdAt, addedContents: [message.content] }))
      return message
    },

    /**
     * Rewrites some fields of one message in the owner's chat: the answer in progress, checkpointed
     * while it streams, then finished, cancelled or failed. Returns false when the message is not
     * in a chat of theirs.
     */
    replaceMessageContentForUser(owner: UserId, chatId: ChatId, messageId: MessageId, patch: MessagePatch): boolean {
      const ring = keys.keysForOwner(owner)
      const isNested = db.inTransaction
      let written: { row: ChatRow; message: Message } | null = null
      const isWritten = db.transaction(() => {
        const chat = chats.find(owner, chatId)
        if (chat === null) return false
        const held = heldChat(chat, ring, isNested)?.get(messageId)
        const stored = held ?? rows.find(chat.seq, chatId, messageId, ring)
        if (stored === null) return false
        const message = { ...stored, ...patch }
        rows.rewrite(chat.seq, message, ring)
        written = { row: chat, message }
        return true
      }).immediate()
      const done = written as { row: ChatRow; message: Message } | null // note: assigned in the transaction, which TypeScript does not follow
      if (done !== null) afterMessagesWritten(done.row, ring, [done.message])
      // note: an answer is rewritten every second while it streams: only its chat is read again, at the next search.
      if (isWritten) afterWrite(owner, () => search.noteRewrite(owner, chatId))
      return isWritten
    },

    /** Selects the leaf the chat shows; false when the chat is not theirs or holds no such message. */
    setCurrentMessage(owner: UserId, chatId: ChatId, messageId: MessageId): boolean {
      const chat = chats.find(owner, chatId)
      if (chat === null || !rows.has(chat.seq, messageId)) return false
      chats.select(chat.seq, messageId)
      return true
    },

    /** Returns the internal id of the message the client calls `uid` in the owner's chat, or null. */
    findMessageIdByUid(owner: UserId, chatId: ChatId, uid: string): MessageId | null {
      const chat = chats.find(owner, chatId)
      return chat === null ? null : rows.idOfUid(chat.seq, uid)
    },

    /**
     * Removes the message the client calls `uid` and everything under it; when the selected leaf
     * went with it, the parent's newest branch is selected. Returns how many messages went, or
     * null when the chat is not theirs or holds no such message.
     */
    deleteMessageSubtree(owner: UserId, chatId: ChatId, uid: string): number | null {
      const removed = db.transaction((): number | null => {
        const chat = chats.find(owner, chatId)
        if (chat === null) return null
        const shapes = rows.shapes(chat.seq)
        const target = shapes.find((message) => message.uid === uid)
        if (target === undefined) return null
        const gone = new Set(subtreeOf(shapes, target.id))
        for (const id of gone) rows.remove(chat.seq, id)
        const isSelectionGone = chat.current_id !== null && gone.has(chat.current_id as MessageId)
        const left = shapes.filter((message) => !gone.has(message.id))
        chats.touch(chat.seq, now(), isSelectionGone ? newestLeaf(left, target.parentId) : chat.current_id as MessageId | null)
        history.forgetChat(chat.seq)
        return gone.size
      }).immediate()
      if (removed !== null) afterWrite(owner, () => search.noteRewrite(owner, chatId))
      return removed
    },

    /** Copies the owner's chat, every branch and setting, under a new id and title (not archived); null when it is not theirs. */
    cloneChat(owner: UserId, chatId: ChatId, title: string): Chat | null {
      const tree = readTree(owner, chatId)
      if (tree === null) return null
      const uidOf = new Map(tree.messages.map((message) => [message.id, message.uid]))
      const current = tree.chat.currentId === null ? null : uidOf.get(tree.chat.currentId) ?? null
      return insertChat(owner, {
        // note: as Open WebUI, the copy names where it came from and the message it branched at.
        title, settings: { ...tree.settings, extra: { ...tree.settings.extra, originalChatId: chatId, branchPointMessageId: current } }, folderId: tree.chat.folderId,
        messages: {
          kind: 'tree', currentUid: current,
          messages: tree.messages.map((message) => ({ ...message, parentUid: message.parentId === null ? null : uidOf.get(message.parentId)! })),
        },
      }, { id: newChatId(), createdAt: now(), updatedAt: now(), pinned: tree.chat.pinned })
    },

    /** Opens the owner's whole chat: its settings and every message of every branch; null when it is not theirs. */
    readChatTree(owner: UserId, chatId: ChatId): ChatTree | null {
      return readTree(owner, chatId)
    },

    /** Returns every message of the owner's chat (all branches) by id; empty when the chat is not theirs. */
    listMessagesInChat(owner: UserId, chatId: ChatId): Message[] {
      const chat = chats.find(owner, chatId)
      return chat === null ? [] : openChat(chat, keys.keysForOwner(owner)).list() as Message[]
    },

    /** Returns the messages from the root to the selected leaf: the conversation the user sees. */
    listCurrentPath(owner: UserId, chatId: ChatId): Message[] {
      const chat = chats.find(owner, chatId)
      if (chat === null) return []
      return pathTo(openChat(chat, keys.keysForOwner(owner)).list(), chat.current_id as MessageId | null)
    },

    /**
     * Returns the messages from the root to `leafId` (the selected leaf when undefined), opening
     * only those: what a turn sends the model, however many branches the chat has. Null when the
     * chat is not theirs or holds no such message.
     */
    listPathTo(owner: UserId, chatId: ChatId, leafId?: MessageId | null): Message[] | null {
      const chat = chats.find(owner, chatId)
      if (chat === null) return null
      const leaf = leafId === undefined ? chat.current_id as MessageId | null : leafId
      const opened = openChat(chat, keys.keysForOwner(owner))
      const path = pathThrough(opened.get, leaf)
      if (leaf !== null && path.length === 0) return null
      return path
    },

    /** Opens the owner's chat's settings (system prompt, params, ...); null when the chat is not theirs. */
    findChatSettingsForUser(owner: UserId, chatId: ChatId): ChatSettings | null {
      const chat = chats.find(owner, chatId)
      return chat === null ? null : chats.settingsOf(chat)
    },
  }
}

/** A tree that reached the repository without passing the edge's checks. */
export class BadTreeError extends Error {
  constructor(readonly problem: SaveProblem) {
    super(`The chat's message tree is not valid (${problem.problem}).`)
    this.name = 'BadTreeError'
  }
}

export type ChatRepo = ReturnType<typeof createChatRepo>
