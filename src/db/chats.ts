/**
 * The chat repository: a user's chats, each a tree of messages (chat-tree.ts), a chat sealed per
 * field and a message as one value (message-rows.ts). Every lookup names the owner, so another
 * user's chat id finds nothing. Appending a message is one insert and one small chat-row update
 * whatever the chat's size; a whole-chat save rewrites only the messages that changed (chat-whole-save.ts,
 * planned by chat-save.ts).
 *
 * On the engine contract (engine.ts): every method is async. What the repository keeps in memory of
 * a write (the history cache, the search index, the id block) is applied only once the write has
 * committed (after the awaited call: with group commit, after its batch), and dropped instead when
 * the write runs inside an outer transaction, which may still roll back. While a chat's write is
 * committed but not yet applied, its held copy is not used (chat-held-copy.ts).
 *
 * Several instances on PostgreSQL (shared-writes.ts): chats and search indexes are held only while
 * `shared.isAnnounced`; every write is announced once committed (`sql.afterCommit`), and the
 * cluster calls `forgetChat`/`forgetOwner`/`forgetEverything` for the others' writes.
 */
import type { AccountChanges } from './account-changes.ts'
import { isSaveProblem, planChatSave } from './chat-save.ts'
import { createChatRows, type AppendTarget, type ChatFilter, type ChatRow, type Page } from './chat-rows.ts'
import {
  EMPTY_SETTINGS, newestLeaf, pathThrough, pathTo, subtreeOf,
  type Chat, type ChatContent, type ChatSettings, type ChatTree, type Message, type MessagePatch, type NewMessage,
} from './chat-tree.ts'
import { chatMatches, createChatSearchIndex, indexedChat, searchableText, type IndexedChat } from './chats-search.ts'
import type { DataKeyRepo, KeyRing } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import { createEngineIdBlocks, type IdAttempt } from './id-blocks.ts'
import { newChatId, type ChatId, type MessageId, type UserId } from './ids.ts'
import { createMessageRows } from './message-rows.ts'
import type { HeldChatBytes } from './open-webui-chat-description.ts'
import { SavedBody } from './chat-scanned-save.ts'
import { allocatorOf, BadTreeError, createChatSave, idsNeeded, type SaveResult } from './chat-whole-save.ts'
import { createChatHistoryCache, type HistoryCacheLimits, type HistoryCacheSize, type OpenedChat } from './chat-history-cache.ts'
import { createChatHeldCopy } from './chat-held-copy.ts'
import { FieldOpenError } from './field-open-error.ts'
import type { SharedWrites } from './shared-writes.ts'

export { BadTreeError, type SaveCounts, type SavedAnswer, type SaveResult } from './chat-whole-save.ts'

/** Every row: SQLite reads a negative LIMIT as none. */
export const ALL_ROWS: Page = { limit: -1, offset: 0 }

/** An id and times from elsewhere (an import), and the flags it had there. */
export type ImportedChat = { id: ChatId; createdAt: number; updatedAt: number; pinned?: boolean; archived?: boolean }

/** Chats and their messages; deletions are announced to `changes`, so answers streaming into them stop. */
export function createChatRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number, changes: AccountChanges, historyLimits?: HistoryCacheLimits, shared: SharedWrites = { isAnnounced: false }) {
  const messageIds = createEngineIdBlocks(sql, 'message')
  const rows = createMessageRows(sql)
  const chats = createChatRows(sql)

  const search = createChatSearchIndex()
  /**
   * Whether decrypted chats and search indexes may be held now. On SQLite one process writes the
   * file (a tool's write is seen through data_version). On PostgreSQL another instance may write
   * any chat: only while this instance hears of every such write (SharedWrites, read on each use).
   */
  const mayHold = () => sql.dialect === 'sqlite' || shared.isAnnounced
  const history = createChatHistoryCache(changes, now, historyLimits)
  const forgetEverything = () => {
    history.clear()
    search.clear()
  }
  // note: held while announced, nothing while not, and from empty once announced again: notices may have been lost meanwhile.
  shared.onAnnouncedChange?.(forgetEverything)
  // note: a deleted chat or user, here or relayed from another instance (cluster/revocation-relay.ts), leaves no search index behind.
  changes.subscribe((change) => {
    if (change.userId === null) search.clear()
    else if (change.kind === 'chats' || change.revoked?.kind === 'deleted') search.forgetUser(change.userId)
  })
  /** Tells the other instances of a write to the owner's chat (null: several) once it has committed. */
  const announce = (owner: UserId, chatId: ChatId | null) => {
    if (shared.announce !== undefined) sql.afterCommit(() => shared.announce!({ kind: 'chat', owner, chatId }))
  }
  /**
   * Runs `use` with the owner's ring, and once more with the ring read again when it met a value
   * sealed under a key version the ring lacked (another instance began a rotation: data-keys.ts
   * drops such a ring), rather than fail.
   */
  async function withRing<T>(owner: UserId, use: (ring: KeyRing) => Promise<T>): Promise<T> {
    const ring = await keys.ringFor(owner)
    try {
      return await use(ring)
    } catch (error) {
      if (!(error instanceof FieldOpenError) || !keys.isOutdated(ring)) throw error
      return use(await keys.ringFor(owner))
    }
  }
  const heldCopy = createChatHeldCopy({ sql, history, mayHold, readMessages: (row, ring) => rows.list(row.seq, row.id as ChatId, ring) })
  const { openChat, heldChat, heldBytesOf } = heldCopy

  /** Keeps the search index current after a committed write, or drops it while an outer transaction may roll back. */
  function afterWrite(owner: UserId, isNested: boolean, apply: () => void): void {
    if (isNested) search.forgetUser(owner)
    else apply()
  }

  /**
   * Runs a write that may allocate message ids in one transaction. Ids come from an attempt made
   * inside it, so an attempt that fails or runs again hands out none it did not reserve; a block
   * the attempt reserved serves later writes only once the outermost transaction committed. Every
   * chat marked with `mark` while it runs has its held copy set aside until `settle` ran.
   */
  async function writeMessages<T>(write: (ids: IdAttempt, mark: (seq: number) => void) => Promise<T>, settle: (result: T, isNested: boolean) => void): Promise<T> {
    const isNested = sql.inTransaction()
    const marked: number[] = []
    let attempt: IdAttempt | null = null
    try {
      const result = await sql.transaction(async () => {
        const mine = attempt = messageIds.attempt()
        return write(mine, (seq) => {
          heldCopy.markWriting(seq)
          marked.push(seq)
        })
      })
      if (!isNested) attempt!.keep()
      settle(result, isNested)
      return result
    } catch (error) {
      for (const seq of marked) history.forgetChat(seq)
      throw error
    } finally {
      for (const seq of marked) heldCopy.unmarkWriting(seq)
    }
  }

  /**
   * Inserts one message under `parentId` (undefined: the chat's selected leaf) and selects it; call
   * inside a transaction. A message the server makes gets its internal id as client id, unless
   * `uidTaken` (the chat already uses that): then a random one.
   */
  async function appendMessage(ring: KeyRing, chat: Pick<ChatRow, 'seq' | 'id' | 'current_id'>, input: NewMessage, at: number, id: MessageId, uidTaken: boolean): Promise<Message> {
    const message: Message = {
      id, uid: input.uid ?? (uidTaken ? crypto.randomUUID() : String(id)), chatId: chat.id as ChatId,
      parentId: input.parentId === undefined ? chat.current_id as MessageId | null : input.parentId,
      role: input.role, model: input.model ?? null, content: input.content, images: input.images ?? null, artifacts: input.artifacts ?? null,
      stats: input.stats ?? null, status: input.status ?? null, error: input.error ?? null, usage: input.usage ?? null,
      sources: input.sources ?? null, files: input.files ?? null, extra: input.extra ?? null, createdAt: input.createdAt ?? at,
    }
    await rows.insert(chat.seq, message, ring)
    chat.current_id = id
    return message
  }

  /** Inserts a chat with the given content; `given` fixes its id, times and flags. Call inside writeMessages. */
  async function insertChatRows(owner: UserId, content: ChatContent, ids: IdAttempt, given?: ImportedChat): Promise<{ chat: Chat; seq: number; messages: Message[]; ring: KeyRing }> {
    const id = given?.id ?? newChatId()
    const at = given?.createdAt ?? now()
    const updatedAt = given?.updatedAt ?? at
    const ring = await keys.ringFor(owner)
    const title = content.title ?? 'New Chat'
    const folderId = content.folderId ?? null
    const pinned = given?.pinned ?? false
    const archived = given?.archived ?? false
    const seq = await chats.insert({ id, userId: owner, title, pinned, archived, folderId, createdAt: at, updatedAt, settings: { ...EMPTY_SETTINGS, ...content.settings } }, ring)
    let messages: Message[] = []
    let currentId: MessageId | null = null
    if (content.messages !== undefined) {
      const plan = planChatSave(id, [], null, content.messages, allocatorOf(await ids.take(idsNeeded([], content.messages))), at, () => false)
      if (isSaveProblem(plan)) throw new BadTreeError(plan)
      await rows.insertMany(seq, plan.inserts, ring)
      await chats.select(seq, plan.currentId)
      messages = plan.inserts
      currentId = plan.currentId
    }
    return { chat: { id, userId: owner, title, pinned, archived, folderId, currentId, createdAt: at, updatedAt }, seq, messages, ring }
  }

  /** Creates a chat with the given content in one transaction. */
  function insertChat(owner: UserId, content: ChatContent, given?: ImportedChat): Promise<Chat> {
    return writeMessages((ids) => insertChatRows(owner, content, ids, given), ({ chat, messages }, isNested) => {
      afterWrite(owner, isNested, () => search.noteNewChat(chat, messages.map((message) => message.content)))
      announce(owner, chat.id)
    }).then(({ chat }) => chat)
  }

  /** Decrypts every chat of the owner with its message contents, for the search index. */
  function loadSearchable(owner: UserId): Promise<IndexedChat[]> {
    return withRing(owner, async (ring) => {
      const contents = await rows.contentsOfOwner(owner, ring)
      return (await chats.allOf(owner)).map((row) => indexedChat(toChat(row, ring), contents.get(row.seq) ?? []))
    })
  }

  /** Decrypts one chat of the owner with its message contents, for the search index; null when it is not there. */
  async function loadSearchableChat(owner: UserId, chatId: ChatId): Promise<IndexedChat | null> {
    const row = await chats.find(owner, chatId)
    if (row === null) return null
    return withRing(owner, async (ring) => indexedChat(toChat(row, ring), await rows.contentsOf(row.seq, chatId, ring)))
  }

  async function setFlag(field: 'pinned' | 'archived', owner: UserId, chatId: ChatId, value: boolean): Promise<Chat | null> {
    const isNested = sql.inTransaction()
    if (!(await chats.setFlag(owner, chatId, field, value))) return null
    afterWrite(owner, isNested, () => search.noteChange(owner, chatId, { [field]: value }))
    announce(owner, chatId)
    return findChat(owner, chatId)
  }

  async function findChat(owner: UserId, chatId: ChatId): Promise<Chat | null> {
    const row = await chats.find(owner, chatId)
    return row === null ? null : withRing(owner, async (ring) => toChat(row, ring))
  }

  const toChat = (row: ChatRow, ring: KeyRing): Chat => ({ ...chats.fieldsOf(row), title: chats.titleOf(row, ring) })

  /** Opens the owner's whole chat; null when it is not theirs. */
  async function readTree(owner: UserId, chatId: ChatId): Promise<ChatTree | null> {
    return (await readTreeBytes(owner, chatId))?.tree ?? null
  }

  /** Opens the owner's whole chat with its answer's message bytes (heldBytesOf); null when it is not theirs. */
  async function readTreeBytes(owner: UserId, chatId: ChatId): Promise<{ tree: ChatTree; bytes: () => HeldChatBytes } | null> {
    const row = await chats.find(owner, chatId)
    if (row === null) return null
    return withRing(owner, async (ring) => {
      const settings = await chats.settingsOf(row, ring)
      const opened = await openChat(row, ring)
      // note: the list is made only when asked for: a chat's answer uses the held bytes alone (0.06 ms at 2,000 messages).
      const tree: ChatTree = { chat: toChat(row, ring), settings, get messages() { return opened.list() as Message[] } }
      return { tree, bytes: () => heldBytesOf(opened, tree.chat.currentId) }
    })
  }

  const save = createChatSave({ sql, now, keys, rows, chats, history, heldCopy, search, writeMessages, afterWrite, announce })

  return {
    /**
     * Creates a chat owned by the user, with the given messages in order, each the child of the one
     * before. `imported` keeps an id and times from elsewhere (an import).
     */
    createChat(owner: UserId, title: string, messages: readonly NewMessage[] = [], imported?: ImportedChat): Promise<Chat> {
      const list = messages.map((message) => ({ ...message, uid: message.uid ?? null, createdAt: message.createdAt ?? null }))
      return insertChat(owner, { title, messages: { kind: 'list', messages: list } }, imported)
    },

    /**
     * Creates a chat owned by the user from a whole chat as a client holds it (a tree, its settings);
     * `imported` keeps an id, times and flags from elsewhere. Rejects with BadTreeError for a tree the
     * edge should have refused (a parent not listed before its child, an id twice).
     */
    createChatFromContent(owner: UserId, content: ChatContent, imported?: ImportedChat): Promise<Chat> {
      return insertChat(owner, content, imported)
    },

    /** Creates the chat `id` (from `newChatId`) with its first message, in one transaction; returns both. */
    startChat(owner: UserId, id: ChatId, title: string, first: NewMessage): Promise<{ chat: Chat; message: Message }> {
      const at = now()
      return writeMessages(async (ids) => {
        const { chat, seq, ring } = await insertChatRows(owner, { title }, ids, { id, createdAt: at, updatedAt: at })
        // note: the chat is new, so no message of it uses the id as client id yet.
        const message = await appendMessage(ring, { seq, id, current_id: null }, first, at, await ids.next() as MessageId, false)
        await chats.select(seq, message.id)
        return { chat: { ...chat, currentId: message.id }, message }
      }, (created, isNested) => {
        afterWrite(owner, isNested, () => search.noteNewChat(created.chat, [created.message.content]))
        announce(owner, id)
      })
    },

    /** Returns the owner's chat, or null when it does not exist or belongs to someone else. */
    findChatForUser(owner: UserId, chatId: ChatId): Promise<Chat | null> {
      return findChat(owner, chatId)
    },

    /** Whose chat this is, or null when there is none: only for an admin's audited read of another user's chat. */
    findChatOwner(chatId: ChatId): Promise<UserId | null> {
      return chats.ownerOf(chatId)
    },

    /** Lists the owner's chats, most recently updated first. */
    async listChatsForUser(owner: UserId, page: Page): Promise<Chat[]> {
      const found = await chats.page(owner, page)
      if (found.length === 0) return []
      return withRing(owner, async (ring) => found.map((row) => toChat(row, ring)))
    },

    /** Lists one page of the owner's live, archived or pinned chats, most recently updated first. */
    async listFilteredChatsForUser(owner: UserId, filter: ChatFilter, page: Page): Promise<Chat[]> {
      // note: titles already decrypted for search are reused, unless a write in progress may roll back.
      const isNested = sql.inTransaction()
      const cached = (row: ChatRow) => (isNested ? undefined : search.cachedTitleOf(owner, row.id as ChatId))
      const found = await chats.filteredPage(owner, filter, page)
      let ring: KeyRing | null = null
      const result: Chat[] = []
      for (const row of found) {
        const title = cached(row)
        result.push(title === undefined ? toChat(row, ring ??= await keys.ringFor(owner)) : { ...chats.fieldsOf(row), title })
      }
      return result
    },

    /**
     * Lists one page of the owner's live chats whose title or any message (of any branch) contains
     * the text, ignoring case, most recently updated first. Decrypts the owner's chats once into a
     * memory-only index.
     */
    async searchChatsForUser(owner: UserId, text: string, page: Page): Promise<Chat[]> {
      const query = searchableText(text)
      const matches: Chat[] = []
      const cacheable = mayHold() && !sql.inTransaction()
      for (const entry of await search.chatsOf(owner, () => loadSearchable(owner), (chatId) => loadSearchableChat(owner, chatId), cacheable)) {
        if (!entry.chat.archived && chatMatches(entry, query)) matches.push(entry.chat)
      }
      matches.sort((a, b) => b.updatedAt - a.updatedAt || b.createdAt - a.createdAt || (a.id < b.id ? -1 : 1))
      return matches.slice(page.offset, page.offset + page.limit)
    },

    /** Renames the owner's chat; false when it is not theirs. */
    async renameChat(owner: UserId, chatId: ChatId, title: string): Promise<boolean> {
      const at = now()
      const isNested = sql.inTransaction()
      if (!(await chats.rename(owner, chatId, title, at, await keys.ringFor(owner)))) return false
      afterWrite(owner, isNested, () => search.noteChange(owner, chatId, { title, updatedAt: at }))
      announce(owner, chatId)
      return true
    },

    /**
     * Replaces the owner's chat with a whole chat as a client holds it, as Open WebUI does: fields
     * left undefined keep what is stored (`settings.extra` merges key by key); when messages are
     * given, new ones are inserted, changed ones rewritten (only those), and stored ones not given
     * removed. Safe to retry: the same save twice writes no message the second time.
     */
    async saveChatForUser(owner: UserId, chatId: ChatId, content: ChatContent): Promise<SaveResult> {
      try {
        return (await save(owner, chatId, content))!
      } catch (error) {
        if (error instanceof BadTreeError) return { ok: false, reason: 'bad_tree', ...error.problem }
        throw error
      }
    },

    /**
     * saveChatForUser for a save's body as sent (Open WebUI's `{chat, folder_id?}` in UTF-8), read
     * against the chat held in memory without parsing what the server last sent and the client sent
     * back unchanged (open-webui-chat-scan.ts); `prepare` makes of the content read what
     * saveChatForUser would be given. Null, with nothing written, when the chat is not held or the
     * body can only be read whole: the caller then parses it and calls saveChatForUser.
     */
    saveChatBytesForUser(owner: UserId, chatId: ChatId, body: Uint8Array, prepare: (content: ChatContent) => ChatContent): Promise<SaveResult | null> {
      return save(owner, chatId, new SavedBody(body, prepare))
    },

    /** Pins or unpins the owner's chat and returns it, or null when it is not theirs. */
    setChatPinned(owner: UserId, chatId: ChatId, pinned: boolean): Promise<Chat | null> {
      return setFlag('pinned', owner, chatId, pinned)
    },

    /** Archives or restores the owner's chat and returns it, or null when it is not theirs. */
    setChatArchived(owner: UserId, chatId: ChatId, archived: boolean): Promise<Chat | null> {
      return setFlag('archived', owner, chatId, archived)
    },

    /** Deletes the owner's chat with its messages; false when it is not theirs. */
    async deleteChatForUser(owner: UserId, chatId: ChatId): Promise<boolean> {
      const isNested = sql.inTransaction()
      if (!(await chats.remove(owner, chatId))) return false
      afterWrite(owner, isNested, () => search.forgetChat(owner, chatId))
      announce(owner, chatId)
      changes.chatsDeleted(owner)
      return true
    },

    /** Deletes every chat of the owner with their messages; returns how many went. */
    async deleteAllChatsForUser(owner: UserId): Promise<number> {
      const removed = await chats.removeAllOf(owner)
      search.forgetUser(owner)
      if (removed > 0) announce(owner, null)
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

    /** Forgets what is held of the owner's chat (its opened messages, the owner's search index): another instance wrote it. */
    forgetChat(owner: UserId, chatId: ChatId): void {
      history.forgetChatById(chatId)
      search.forgetUser(owner)
    },

    /** Forgets everything held of the owner's chats: another instance wrote several, or deleted them. */
    forgetOwner(owner: UserId): void {
      history.forgetOwner(owner)
      search.forgetUser(owner)
    },

    /** Forgets every chat and search index held: another instance lost track of what it announced. */
    forgetEverything,

    /** Drops the owner's decrypted search index from memory; call when their account is deleted. */
    forgetSearchIndexForUser(owner: UserId): void {
      search.forgetUser(owner)
    },

    /**
     * Adds a message to the owner's chat under `input.parentId` (undefined: under the selected
     * leaf; null: a new root), selects it, and returns it; null when the chat is not theirs or the
     * parent is not in it. Costs one insert whatever the chat's size.
     */
    async addMessage(owner: UserId, chatId: ChatId, input: NewMessage): Promise<Message | null> {
      const added = await writeMessages(async (ids, mark): Promise<{ row: AppendTarget; message: Message; ring: KeyRing } | null> => {
        // note: the id is taken before the chat and parent are read, in one statement with the client-id check (three statements an append, not four): a chat or parent not found leaves a gap, as any failed write does.
        const id = await ids.next() as MessageId
        const found = await chats.findForAppend(owner, chatId, input.parentId ?? null, input.uid === undefined || input.uid === null ? String(id) : null)
        if (found === null || !found.hasParent) return null
        const { row: chat, uidTaken } = found
        const ring = await keys.ringFor(owner)
        mark(chat.seq)
        const at = now()
        const inserted = await appendMessage(ring, chat, input, at, id, uidTaken)
        await chats.touch(chat.seq, at, inserted.id)
        return { row: chat, message: inserted, ring }
      }, (done, isNested) => {
        if (done === null) return
        heldCopy.afterMessageAdded(done.row, done.ring, done.message, isNested)
        afterWrite(owner, isNested, () => search.noteChange(owner, chatId, { updatedAt: done.message.createdAt, addedContents: [done.message.content] }))
        announce(owner, chatId)
      })
      return added?.message ?? null
    },

    /**
     * Rewrites some fields of one message in the owner's chat: the answer in progress, checkpointed
     * while it streams, then finished, cancelled or failed. Returns false when the message is not
     * in a chat of theirs.
     */
    async replaceMessageContentForUser(owner: UserId, chatId: ChatId, messageId: MessageId, patch: MessagePatch): Promise<boolean> {
      const isNested = sql.inTransaction()
      const written = await writeMessages(async (_ids, mark): Promise<{ row: ChatRow; message: Message; ring: KeyRing } | null> => {
        const chat = await chats.find(owner, chatId)
        if (chat === null) return null
        const ring = await keys.ringFor(owner)
        const held = (await heldChat(chat, ring, isNested))?.get(messageId)
        const stored = held ?? await rows.find(chat.seq, chatId, messageId, ring)
        if (stored === null) return null
        mark(chat.seq)
        const message = { ...stored, ...patch }
        await rows.rewrite(chat.seq, message, ring)
        return { row: chat, message, ring }
      }, (done, nested) => {
        if (done === null) return
        heldCopy.afterMessageRewritten(done.row, done.ring, done.message, nested)
        // note: an answer is rewritten every second while it streams: only its chat is read again, at the next search.
        afterWrite(owner, nested, () => search.noteRewrite(owner, chatId))
        announce(owner, chatId)
      })
      return written !== null
    },

    /** Selects the leaf the chat shows; false when the chat is not theirs or holds no such message. */
    setCurrentMessage(owner: UserId, chatId: ChatId, messageId: MessageId): Promise<boolean> {
      // note: in one transaction, so a message deleted meanwhile (by another instance) is never selected.
      return sql.transaction(async () => {
        const chat = await chats.find(owner, chatId)
        if (chat === null || !(await rows.has(chat.seq, messageId))) return false
        await chats.select(chat.seq, messageId)
        return true
      })
    },

    /** Returns the internal id of the message the client calls `uid` in the owner's chat, or null. */
    async findMessageIdByUid(owner: UserId, chatId: ChatId, uid: string): Promise<MessageId | null> {
      const chat = await chats.find(owner, chatId)
      return chat === null ? null : rows.idOfUid(chat.seq, uid)
    },

    /**
     * Removes the message the client calls `uid` and everything under it; when the selected leaf
     * went with it, the parent's newest branch is selected. Returns how many messages went, or
     * null when the chat is not theirs or holds no such message.
     */
    async deleteMessageSubtree(owner: UserId, chatId: ChatId, uid: string): Promise<number | null> {
      const removed = await writeMessages(async (_ids, mark): Promise<{ seq: number; count: number } | null> => {
        const chat = await chats.find(owner, chatId)
        if (chat === null) return null
        const shapes = await rows.shapes(chat.seq)
        const target = shapes.find((message) => message.uid === uid)
        if (target === undefined) return null
        mark(chat.seq)
        const gone = new Set(subtreeOf(shapes, target.id))
        for (const id of gone) await rows.remove(chat.seq, id)
        const isSelectionGone = chat.current_id !== null && gone.has(chat.current_id as MessageId)
        const left = shapes.filter((message) => !gone.has(message.id))
        await chats.touch(chat.seq, now(), isSelectionGone ? newestLeaf(left, target.parentId) : chat.current_id as MessageId | null)
        return { seq: chat.seq, count: gone.size }
      }, (done, isNested) => {
        if (done === null) return
        history.forgetChat(done.seq)
        afterWrite(owner, isNested, () => search.noteRewrite(owner, chatId))
        announce(owner, chatId)
      })
      return removed?.count ?? null
    },

    /** Copies the owner's chat, every branch and setting, under a new id and title (not archived); null when it is not theirs. */
    async cloneChat(owner: UserId, chatId: ChatId, title: string): Promise<Chat | null> {
      const tree = await readTree(owner, chatId)
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
    readChatTree(owner: UserId, chatId: ChatId): Promise<ChatTree | null> {
      return readTree(owner, chatId)
    },

    /**
     * readChatTree, with the bytes describeChatParts sends for its messages: those of a held chat
     * are made once and kept while it is unchanged, and after a save read against it
     * (saveChatBytesForUser) only the rewritten messages are described again.
     */
    readChatTreeBytes(owner: UserId, chatId: ChatId): Promise<{ tree: ChatTree; bytes: () => HeldChatBytes } | null> {
      return readTreeBytes(owner, chatId)
    },

    /** Returns every message of the owner's chat (all branches) by id; empty when the chat is not theirs. */
    async listMessagesInChat(owner: UserId, chatId: ChatId): Promise<Message[]> {
      const chat = await chats.find(owner, chatId)
      return chat === null ? [] : withRing(owner, async (ring) => (await openChat(chat, ring)).list() as Message[])
    },

    /** Returns the messages from the root to the selected leaf: the conversation the user sees. */
    async listCurrentPath(owner: UserId, chatId: ChatId): Promise<Message[]> {
      const chat = await chats.find(owner, chatId)
      if (chat === null) return []
      return withRing(owner, async (ring) => pathTo((await openChat(chat, ring)).list(), chat.current_id as MessageId | null))
    },

    /**
     * Returns the messages from the root to `leafId` (the selected leaf when undefined), opening
     * only those: what a turn sends the model, however many branches the chat has. Null when the
     * chat is not theirs or holds no such message.
     */
    async listPathTo(owner: UserId, chatId: ChatId, leafId?: MessageId | null): Promise<Message[] | null> {
      const chat = await chats.find(owner, chatId)
      if (chat === null) return null
      const leaf = leafId === undefined ? chat.current_id as MessageId | null : leafId
      const opened = await withRing(owner, (ring) => openChat(chat, ring))
      const path = pathThrough(opened.get, leaf)
      if (leaf !== null && path.length === 0) return null
      return path
    },

    /**
     * What a turn starts from, its chat row read once (ownership, the message the client calls
     * `leafUid`, the settings): the path from the root to that message (undefined: the selected
     * leaf; null: none, a new root), opened as listPathTo does, and the chat's settings. Null when
     * the chat is not theirs; `path` null when it holds no such message.
     */
    async openTurn(owner: UserId, chatId: ChatId, leafUid: string | null | undefined): Promise<{ path: readonly Message[] | null; settings: ChatSettings } | null> {
      const found = await chats.findForTurn(owner, chatId, typeof leafUid === 'string' ? leafUid : null)
      if (found === null) return null
      const { row } = found
      const leaf = leafUid === undefined ? row.current_id as MessageId | null : leafUid === null ? null : found.uidId
      return withRing(owner, async (ring) => {
        // note: the title is opened as a turn's start always did (findChatForUser), so a chat whose row no longer opens still fails the turn.
        chats.titleOf(row, ring)
        const settings = chats.openSettings(row, found.settings, ring)
        if (typeof leafUid === 'string' && leaf === null) return { path: null, settings }
        const path = leaf === null ? [] : heldPathTo(await openChat(row, ring), leaf)
        return { path: leaf !== null && path.length === 0 ? null : path, settings }
      })
    },

    /** Opens the owner's chat's settings (system prompt, params, ...); null when the chat is not theirs. */
    async findChatSettingsForUser(owner: UserId, chatId: ChatId): Promise<ChatSettings | null> {
      const chat = await chats.find(owner, chatId)
      return chat === null ? null : chats.settingsOf(chat, await keys.ringFor(owner))
    },
  }
}

export type ChatRepo = ReturnType<typeof createChatRepo>

/**
 * The path from the root to `leaf` in an opened chat: the path of its remembered answer bytes when
 * they select that very message (they are brought up to date by every write, and tests hold them
 * equal to the path looked up afresh), else walked parent by parent.
 * note: a turn under the selected message, the usual one, copies the path instead of looking up each of its 2,000 messages.
 */
// note: the held path itself, not a copy: HeldChatBytes' arrays are never written once made (a write makes new ones), and a turn copies it once into what it sends.
function heldPathTo(opened: OpenedChat, leaf: MessageId): readonly Message[] {
  const kept = opened.remembered() as HeldChatBytes | undefined
  return kept !== undefined && kept.currentId === leaf ? kept.pathMessages : pathThrough(opened.get, leaf)
}
