/**
 * Chat search over encrypted text: titles and message contents are sealed at rest, so SQL can't
 * match them. Instead each user gets an in-memory index of their decrypted, lower-cased text,
 * built on their first search and kept current by the chat repository's writes. It lives in
 * memory only (never written, never logged), in a cache bounded by users and by characters, least
 * recently searched evicted first. The repository owns it: callers never see it.
 */
import type { Chat } from './chat-tree.ts'
import type { ChatId, UserId } from './ids.ts'

/** One chat as search sees it: its listing fields and everything searchable, lower-cased. */
export type IndexedChat = { chat: Chat; text: string }

/** How far one user's index may grow and how many the cache keeps. */
export type SearchCacheLimits = { maxUsers: number; maxChars: number }

export const DEFAULT_SEARCH_CACHE_LIMITS: SearchCacheLimits = { maxUsers: 256, maxChars: 64 * 1024 * 1024 }

// note: joins title and messages so a query can't match across the seam between two of them.
const SEAM = '\u0000'

/** Lower-cases text for matching (the query goes through it too); a NUL becomes a space, keeping SEAM unique. */
export const searchableText = (text: string): string => text.toLowerCase().replaceAll(SEAM, ' ')

/** What a write changed in a chat the index may hold. */
export type ChatChange = Partial<Pick<Chat, 'title' | 'pinned' | 'archived' | 'updatedAt'>> & { addedContents?: readonly string[] }

/** One user's index; `stale` chats had a message rewritten and are read again before the next search. */
type UserIndex = { chats: Map<ChatId, IndexedChat>; chars: number; stale: Set<ChatId> }

/** Creates an empty cache of per-user search indexes. */
export function createChatSearchIndex(limits: SearchCacheLimits = DEFAULT_SEARCH_CACHE_LIMITS) {
  // note: a Map iterates in insertion order; re-inserting on use makes the first entry the least recent.
  const users = new Map<UserId, UserIndex>()
  let totalChars = 0

  function evictBeyondLimits(): void {
    for (const [owner, index] of users) {
      if (users.size <= limits.maxUsers && totalChars <= limits.maxChars) return
      users.delete(owner)
      totalChars -= index.chars
    }
  }

  /** Counts the writes noted per owner, so a load can tell whether one came while it read. */
  const generations = new Map<UserId, number>()
  // note: `everyone` moves with clear(), so a load under way when everything was dropped is not kept either.
  let everyone = 0
  const generationOf = (owner: UserId) => everyone + (generations.get(owner) ?? 0)
  const noted = (owner: UserId) => generations.set(owner, (generations.get(owner) ?? 0) + 1)

  function forgetUser(owner: UserId): void {
    noted(owner)
    const index = users.get(owner)
    if (index === undefined) return
    users.delete(owner)
    totalChars -= index.chars
  }

  function adjust(index: UserIndex, delta: number): void {
    index.chars += delta
    totalChars += delta
  }

  function replaceChat(index: UserIndex, chatId: ChatId, entry: IndexedChat | null): void {
    const known = index.chats.get(chatId)
    if (entry === null) index.chats.delete(chatId)
    else index.chats.set(chatId, entry)
    adjust(index, (entry?.text.length ?? 0) - (known?.text.length ?? 0))
  }

  return {
    /**
     * Returns the owner's chats with their searchable text: cached, or built by `load` (which
     * decrypts them all) and cached when `cacheable`, that is, when no transaction could still roll
     * back. Stale chats of a cached index are read again with `loadChat` (null: the chat is gone).
     * What a load read while a write to the owner's chats was noted is answered but not kept: it
     * may have read the rows before or after that write.
     */
    async chatsOf(owner: UserId, load: () => Promise<IndexedChat[]>, loadChat: (chatId: ChatId) => Promise<IndexedChat | null>, cacheable: boolean): Promise<Iterable<IndexedChat>> {
      const start = generationOf(owner)
      const cached = users.get(owner)
      if (cached !== undefined && (cached.stale.size === 0 || cacheable)) {
        users.delete(owner)
        users.set(owner, cached)
        if (cached.stale.size > 0) {
          const stale = [...cached.stale]
          const fresh: (IndexedChat | null)[] = []
          for (const chatId of stale) fresh.push(await loadChat(chatId))
          if (generationOf(owner) !== start || users.get(owner) !== cached) {
            const answer = new Map(cached.chats)
            stale.forEach((chatId, i) => (fresh[i] === null ? answer.delete(chatId) : answer.set(chatId, fresh[i]!)))
            forgetUser(owner)
            return answer.values()
          }
          stale.forEach((chatId, i) => replaceChat(cached, chatId, fresh[i]!))
          cached.stale.clear()
        }
        evictBeyondLimits()
        return cached.chats.values()
      }
      const loaded = await load()
      if (!cacheable || generationOf(owner) !== start || users.has(owner)) return loaded
      const index: UserIndex = { chats: new Map(loaded.map((entry) => [entry.chat.id, entry])), chars: 0, stale: new Set() }
      users.set(owner, index)
      adjust(index, loaded.reduce((sum, entry) => sum + entry.text.length, 0))
      evictBeyondLimits()
      return index.chats.values()
    },

    /** Adds a chat just created, with the contents of its first messages. */
    noteNewChat(chat: Chat, contents: readonly string[]): void {
      noted(chat.userId)
      const index = users.get(chat.userId)
      if (index === undefined) return
      const entry = indexedChat(chat, contents)
      index.chats.set(chat.id, entry)
      adjust(index, entry.text.length)
      evictBeyondLimits()
    },

    /** Applies a change to one of the owner's chats: new fields, and message contents appended. */
    noteChange(owner: UserId, chatId: ChatId, change: ChatChange): void {
      noted(owner)
      const index = users.get(owner)
      if (index === undefined) return
      const known = index.chats.get(chatId)
      if (known === undefined) {
        // note: a change to a chat the index never saw means it missed a write; start again.
        users.delete(owner)
        totalChars -= index.chars
        return
      }
      const { addedContents = [], ...fields } = change
      let text = known.text
      if (fields.title !== undefined) text = retitle(text, fields.title)
      for (const content of addedContents) text += SEAM + searchableText(content)
      index.chats.set(chatId, { chat: { ...known.chat, ...fields }, text })
      adjust(index, text.length - known.text.length)
      evictBeyondLimits()
    },

    /** Marks a chat whose message was rewritten: the index only appends, so the chat is read again before the next search. */
    noteRewrite(owner: UserId, chatId: ChatId): void {
      noted(owner)
      const index = users.get(owner)
      if (index !== undefined && index.chats.has(chatId)) index.stale.add(chatId)
    },

    /** Returns the chat's plaintext title when the owner's index is cached, without counting as a use. */
    cachedTitleOf(owner: UserId, chatId: ChatId): string | undefined {
      return users.get(owner)?.chats.get(chatId)?.chat.title
    },

    /** Forgets one chat of the owner. */
    forgetChat(owner: UserId, chatId: ChatId): void {
      noted(owner)
      const index = users.get(owner)
      const known = index?.chats.get(chatId)
      if (index === undefined || known === undefined) return
      index.chats.delete(chatId)
      adjust(index, -known.text.length)
    },

    /** Drops the owner's whole index: after deleting them, or when a write may still roll back. */
    forgetUser,

    /** Drops every index, and keeps none a load under way returns: what was held may be stale. */
    clear(): void {
      everyone++
      users.clear()
      totalChars = 0
    },

    /** Returns how many users and characters the cache holds, for tests and the benchmark. */
    size: () => ({ users: users.size, chars: totalChars }),
  }
}

/** Returns searchable text with a new title, keeping the message text it held. */
function retitle(text: string, title: string): string {
  const seam = text.indexOf(SEAM)
  return searchableText(title) + (seam === -1 ? '' : text.slice(seam))
}

/** Joins a chat's title and message contents into its searchable text. */
export function indexedChat(chat: Chat, contents: readonly string[]): IndexedChat {
  return { chat, text: [chat.title, ...contents].map(searchableText).join(SEAM) }
}

/** Says whether the query, already through searchableText, appears in the chat's title or a message. */
export const chatMatches = (entry: IndexedChat, query: string): boolean => entry.text.includes(query)

export type ChatSearchIndex = ReturnType<typeof createChatSearchIndex>
