/**
 * The chat repository's held copy of a chat (chats.ts): the chat opened from its rows, held in the
 * history cache (chat-history-cache.ts), with the bytes of its Open WebUI answer remembered beside
 * it (HeldChatBytes, held-chat-bytes.ts). This file decides when that copy may be used
 * and keeps it, and its bytes, current after the repository's writes.
 *
 * Threat: a held copy that is not what the rows hold, so a read, an answer or a save read against it
 * (open-webui-chat-scan.ts) serves or writes what the chat is not: a write rolled back, one committed
 * but not applied yet, another connection's write. The copy is used only outside an outer transaction,
 * while no write of its chat is under way (`markWriting` to `unmarkWriting`), while `mayHold` (see
 * chats-core.ts) and, on SQLite, while no other connection wrote the file (data_version). A committed
 * write is applied to the copy, its bytes brought up to date from the messages as held after it
 * (never from what the caller wrote); inside an outer transaction the chat is dropped instead.
 */
import { unheld, type CachedChatKey, type ChatHistoryCache, type OpenedChat } from './chat-history-cache.ts'
import type { ChatRow } from './chat-rows.ts'
import type { Message } from './chat-tree.ts'
import type { KeyRing } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import type { ChatId, MessageId, UserId } from './ids.ts'
import { heldChatBytes, heldChatBytesAdded, heldChatBytesAfter, heldChatBytesSelected, type HeldChatBytes } from './held-chat-bytes.ts'

type ChatKeyRow = Pick<ChatRow, 'seq' | 'id' | 'user_id'>

export type ChatHeldCopyDeps = {
  sql: SqlEngine
  history: ChatHistoryCache
  /** Whether decrypted chats may be held now (chats-core.ts). */
  mayHold: () => boolean
  /** Opens every message of the chat from its rows. */
  readMessages: (row: ChatRow, ring: KeyRing) => Promise<Message[]>
}

/** When a chat's held copy may be used, and its upkeep after writes. */
export function createChatHeldCopy({ sql, history, mayHold, readMessages }: ChatHeldCopyDeps) {
  let seenDataVersion: number | null = null
  /** Chats (by seq) with a write committed or under way whose change is not applied to the held copy yet: that copy is not used meanwhile. */
  const writing = new Map<number, number>()
  const keyOf = (row: ChatKeyRow): CachedChatKey => ({ seq: row.seq, chatId: row.id as ChatId, owner: row.user_id as UserId })

  /** Drops every held chat when another connection (a tool on the same file) wrote: nothing held may be what the rows hold now. SQLite only. */
  async function forgetIfOthersWrote(): Promise<void> {
    if (sql.dialect !== 'sqlite') return
    const version = (await sql.get<{ data_version: number }>('PRAGMA data_version'))!.data_version
    if (version === seenDataVersion) return
    if (seenDataVersion !== null) history.clear()
    seenDataVersion = version
  }

  /** Applies a committed write of messages to the history cache, or drops the chat while an outer transaction may roll back. */
  function afterMessagesWritten(row: ChatKeyRow, ring: KeyRing, stored: readonly Message[], removed: readonly MessageId[], isNested: boolean,
    heldBytesAfter?: (before: HeldChatBytes, held: OpenedChat) => HeldChatBytes | null): void {
    if (isNested) return history.forgetChat(row.seq)
    const key = keyOf(row)
    // note: the answer's bytes remembered before the write, brought up to date from the messages as held after it (never from what the caller wrote).
    const held = heldBytesAfter === undefined ? null : history.heldChat(key, ring)
    const before = held?.remembered() as HeldChatBytes | undefined
    history.noteWritten(key, ring, stored, removed)
    if (held === null || before === undefined) return
    const after = heldBytesAfter!(before, held)
    if (after !== null) held.remember(after)
  }

  return {
    /**
     * The owner's chat row, opened: from the history cache, or from the rows (then held). Inside an
     * outer transaction, which may roll back, the rows are read and nothing is held.
     */
    async openChat(row: ChatRow, ring: KeyRing): Promise<OpenedChat> {
      const open = () => readMessages(row, ring)
      if (sql.inTransaction() || writing.has(row.seq) || !mayHold()) {
        return unheld(await open())
      }
      await forgetIfOthersWrote()
      return history.openChat(keyOf(row), ring, open)
    },

    /** The chat when it is held and may be used: not inside an outer transaction (`isNested`), no write of it pending, and nothing else wrote the file. */
    async heldChat(row: ChatRow, ring: KeyRing, isNested: boolean): Promise<OpenedChat | null> {
      if (isNested || writing.has(row.seq) || !mayHold()) return null
      await forgetIfOthersWrote()
      return history.heldChat(keyOf(row), ring)
    },

    /** Sets the chat's held copy aside while a write of it is under way (counted: writes may overlap). */
    markWriting(seq: number): void {
      writing.set(seq, (writing.get(seq) ?? 0) + 1)
    },

    /** Ends what markWriting began, once the write's change is applied or dropped. */
    unmarkWriting(seq: number): void {
      const left = (writing.get(seq) ?? 1) - 1
      if (left <= 0) writing.delete(seq)
      else writing.set(seq, left)
    },

    afterMessagesWritten,

    /** afterMessagesWritten for one message added and selected: the held bytes gain it (heldChatBytesAdded). */
    afterMessageAdded(row: ChatKeyRow, ring: KeyRing, added: Message, isNested: boolean): void {
      afterMessagesWritten(row, ring, [added], [], isNested, (before, held) => {
        const message = held.get(added.id)
        return message === undefined ? null : heldChatBytesAdded(before, message, added.id)
      })
    },

    /** afterMessagesWritten for one message rewritten in place (`row.current_id` still selected): only it is described again. */
    afterMessageRewritten(row: Pick<ChatRow, 'seq' | 'id' | 'user_id' | 'current_id'>, ring: KeyRing, rewritten: Message, isNested: boolean): void {
      afterMessagesWritten(row, ring, [rewritten], [], isNested, (before, held) => {
        if (held.get(rewritten.id) === undefined) return null
        return heldChatBytesAfter(before, new Set([rewritten.id]), new Set(), held.get, row.current_id as MessageId | null)
      })
    },

    /**
     * After a committed save read against the held chat (not nested) and applied by
     * afterMessagesWritten: a save read so moves nothing, so its answer's bytes are `before`
     * but for the messages rewritten and removed.
     */
    rememberAfterScannedSave(row: ChatKeyRow, ring: KeyRing, before: HeldChatBytes, stored: readonly Message[], removed: readonly MessageId[], currentId: MessageId | null): void {
      const view = history.heldChat(keyOf(row), ring)
      const rewritten = new Set(stored.map((message) => message.id))
      if (view !== null) view.remember(heldChatBytesAfter(before, rewritten, new Set(removed), (id) => view.get(id), currentId))
    },

    /** The bytes of a chat's answer (heldChatBytes), remembered with the held chat until it changes. */
    heldBytesOf(opened: OpenedChat, currentId: MessageId | null): HeldChatBytes {
      const kept = opened.remembered() as HeldChatBytes | undefined
      if (kept !== undefined) {
        if (kept.currentId === currentId) return kept
        const selected = heldChatBytesSelected(kept, currentId)
        opened.remember(selected)
        return selected
      }
      const made = heldChatBytes(opened.list(), currentId)
      opened.remember(made)
      return made
    },
  }
}

export type ChatHeldCopy = ReturnType<typeof createChatHeldCopy>
