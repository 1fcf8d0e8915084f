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
 *
 * This file puts the repository together: its shared rows, held state and write path
 * (chats-core.ts), then its methods by what they do: reads (chats-reads.ts), search
 * (chats-search-read.ts), new chats (chats-create.ts), writes to one message
 * (chats-message-writes.ts) and to a chat as a whole (chats-chat-writes.ts), and, here, what it holds.
 */
import type { AccountChanges } from './account-changes.ts'
import type { HistoryCacheLimits, HistoryCacheSize } from './chat-history-cache.ts'
import type { Page } from './chat-rows.ts'
import { createChatWrites } from './chats-chat-writes.ts'
import { createChatsCore } from './chats-core.ts'
import { createChatCreation } from './chats-create.ts'
import { createMessageWrites } from './chats-message-writes.ts'
import { createChatReadiness } from './chats-ready.ts'
import { createChatReads } from './chats-reads.ts'
import { createChatSearchRead } from './chats-search-read.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import type { ChatId, UserId } from './ids.ts'
import type { SharedWrites } from './shared-writes.ts'

export { BadTreeError, type SaveCounts, type SavedAnswer, type SaveResult } from './chat-whole-save.ts'
export type { ImportedChat } from './chats-create.ts'

/** Every row: SQLite reads a negative LIMIT as none. */
export const ALL_ROWS: Page = { limit: -1, offset: 0 }

/** Chats and their messages; deletions are announced to `changes`, so answers streaming into them stop. */
export function createChatRepo(sql: SqlEngine, keys: DataKeyRepo, now: () => number, changes: AccountChanges, historyLimits?: HistoryCacheLimits, shared: SharedWrites = { isAnnounced: false }) {
  const core = createChatsCore(sql, keys, now, changes, historyLimits, shared)
  const { history, search, forgetEverything } = core

  return {
    ...createChatCreation(core),
    ...createChatReads(core),
    ...createChatSearchRead(core),
    ...createChatWrites(core),
    ...createMessageWrites(core),
    ...createChatReadiness(core),

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
  }
}

export type ChatRepo = ReturnType<typeof createChatRepo>
