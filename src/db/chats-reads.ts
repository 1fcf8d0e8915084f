/**
 * The chat repository's reads (chats.ts): a user's chats listed, one chat opened whole (its tree,
 * with the bytes of its Open WebUI answer: held-chat-bytes.ts), its messages, the path a
 * turn starts from, its settings. Messages come from the chat's held copy when it may be used
 * (chat-held-copy.ts), else opened from the rows (message-rows.ts).
 *
 * Threat: a chat served to someone else, or one that no longer opens served as if it did. Every read
 * names the owner, so another user's chat id finds nothing; a ring that meets a newer key version is
 * read again once (withRing), and a row that still does not open fails the read.
 */
import type { ChatFilter, ChatRow, Page } from './chat-rows.ts'
import { pathThrough, pathTo, type Chat, type ChatSettings, type ChatTree, type Message } from './chat-tree.ts'
import type { OpenedChat } from './chat-history-cache.ts'
import type { ChatsCore } from './chats-core.ts'
import type { KeyRing } from './data-keys.ts'
import type { ChatId, MessageId, UserId } from './ids.ts'
import type { HeldChatBytes } from './held-chat-bytes.ts'

/** Opens the owner's chat row; null when it is not theirs. */
export async function findChat({ chats, withRing, toChat }: ChatsCore, owner: UserId, chatId: ChatId): Promise<Chat | null> {
  const row = await chats.find(owner, chatId)
  return row === null ? null : withRing(owner, async (ring) => toChat(row, ring))
}

/** Opens the owner's whole chat; null when it is not theirs. */
export async function readTree(core: ChatsCore, owner: UserId, chatId: ChatId): Promise<ChatTree | null> {
  return (await readTreeBytes(core, owner, chatId))?.tree ?? null
}

/** Opens the owner's whole chat with its answer's message bytes (heldBytesOf); null when it is not theirs. */
export async function readTreeBytes({ chats, withRing, toChat, heldCopy }: ChatsCore, owner: UserId, chatId: ChatId): Promise<{ tree: ChatTree; bytes: () => HeldChatBytes } | null> {
  const { openChat, heldBytesOf } = heldCopy
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

/** The repository's read methods. */
export function createChatReads(core: ChatsCore) {
  const { sql, keys, rows, chats, search, withRing, toChat } = core
  const { openChat } = core.heldCopy
  return {
    /** Returns the owner's chat, or null when it does not exist or belongs to someone else. */
    findChatForUser(owner: UserId, chatId: ChatId): Promise<Chat | null> {
      return findChat(core, owner, chatId)
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

    /** The ids of all the owner's chats, most recently updated first: a fixed list to read them from one by one (an export). */
    listChatIdsForUser(owner: UserId): Promise<ChatId[]> {
      return chats.idsOf(owner)
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

    /** Returns the internal id of the message the client calls `uid` in the owner's chat, or null. */
    async findMessageIdByUid(owner: UserId, chatId: ChatId, uid: string): Promise<MessageId | null> {
      const chat = await chats.find(owner, chatId)
      return chat === null ? null : rows.idOfUid(chat.seq, uid)
    },

    /** Opens the owner's whole chat: its settings and every message of every branch; null when it is not theirs. */
    readChatTree(owner: UserId, chatId: ChatId): Promise<ChatTree | null> {
      return readTree(core, owner, chatId)
    },

    /**
     * readChatTree, with the bytes describeChatParts sends for its messages: those of a held chat
     * are made once and kept while it is unchanged, and after a save read against it
     * (saveChatBytesForUser) only the rewritten messages are described again.
     */
    readChatTreeBytes(owner: UserId, chatId: ChatId): Promise<{ tree: ChatTree; bytes: () => HeldChatBytes } | null> {
      return readTreeBytes(core, owner, chatId)
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
