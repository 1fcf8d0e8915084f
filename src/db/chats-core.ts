/**
 * The chat repository's shared part (chats.ts): the rows it reads and writes (chat-rows.ts,
 * message-rows.ts), what it holds in memory of them (the history cache with each chat's held copy,
 * the search index) and the one way a write runs (`writeMessages`, `afterWrite`, `announce`), which
 * every write of chats-create.ts, chats-message-writes.ts, chats-chat-writes.ts and chat-whole-save.ts
 * goes through.
 *
 * Threat: memory that says what the rows do not. What is held of a write is applied only once it has
 * committed, and dropped instead inside an outer transaction (which may still roll back) or when the
 * write fails; a chat being written has its held copy set aside until then (chat-held-copy.ts). On
 * PostgreSQL nothing is held unless every other instance's write is announced (shared-writes.ts).
 */
import type { AccountChanges } from './account-changes.ts'
import { createChatHeldCopy } from './chat-held-copy.ts'
import { createChatHistoryCache, type HistoryCacheLimits } from './chat-history-cache.ts'
import { createChatRows, type ChatRow } from './chat-rows.ts'
import type { Chat } from './chat-tree.ts'
import { createChatSearchIndex } from './chats-search.ts'
import type { DataKeyRepo, KeyRing } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import { FieldOpenError } from './field-open-error.ts'
import { createEngineIdBlocks, type IdAttempt } from './id-blocks.ts'
import type { ChatId, UserId } from './ids.ts'
import { createMessageRows } from './message-rows.ts'
import type { SharedWrites } from './shared-writes.ts'

/** The repository's rows, held state and write path, made once per repository. */
export function createChatsCore(sql: SqlEngine, keys: DataKeyRepo, now: () => number, changes: AccountChanges, historyLimits?: HistoryCacheLimits, shared: SharedWrites = { isAnnounced: false }) {
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

  const toChat = (row: ChatRow, ring: KeyRing): Chat => ({ ...chats.fieldsOf(row), title: chats.titleOf(row, ring) })

  return { sql, keys, now, changes, messageIds, rows, chats, search, mayHold, history, forgetEverything, announce, withRing, heldCopy, afterWrite, writeMessages, toChat }
}

export type ChatsCore = ReturnType<typeof createChatsCore>
