/**
 * A whole-chat save (the chat repository's `saveChatForUser` and `saveChatBytesForUser`, chats.ts):
 * Open WebUI's client sends its whole chat back (`POST /api/v1/chats/{id}`) after every edit, and the
 * save rewrites only the messages that changed, in one transaction: read whole (a ChatContent,
 * planned against the stored rows or the held chat by chat-save.ts) or, for a chat held in memory,
 * its body read against what the server last sent (a SavedBody, chat-scanned-save.ts). Fields left
 * undefined keep what is stored; `settings.extra` merges key by key.
 * Format: message rows as message-rows.ts seals them, the chat row's title, settings and selected
 * leaf as chat-rows.ts seals them; the answer of a save read against the held chat is the held
 * chat's bytes (held-chat-bytes.ts) with the rewritten messages described again.
 * Threat: a save that writes what the client did not send, or leaves the held copy, search index
 * or other instances believing what was rolled back: the tree is checked (BadTreeError for one the
 * edge should have refused), the held copy is set aside while the write runs (`mark`), and what is
 * kept in memory is applied only once the write committed (writeMessages' `settle`). Enclave's own
 * fields (stats, artifacts) are never taken from the client; settings.extra can't grow past a save;
 * a `folderId` that is not one of the owner's folders is refused (folder_not_found).
 */
import { isSaveProblem, planChatSave, type PlannedAgainst, type SaveProblem } from './chat-save.ts'
import type { ChatRow, ChatRows } from './chat-rows.ts'
import { readSavedBody, SavedBody, writeScannedMessages } from './chat-scanned-save.ts'
import type { ChatHeldCopy } from './chat-held-copy.ts'
import type { ChatHistoryCache } from './chat-history-cache.ts'
import { CHAT_LIMITS, type Chat, type ChatContent, type ChatSettings, type ChatTree, type Message } from './chat-tree.ts'
import type { ChatSearchIndex } from './chats-search.ts'
import type { DataKeyRepo, KeyRing } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
import type { IdAttempt } from './id-blocks.ts'
import type { ChatId, MessageId, UserId } from './ids.ts'
import { hasSameClientFields, type MessageRows, type StoredMessage } from './message-rows.ts'
import type { HeldChatBytes } from './held-chat-bytes.ts'
import type { ScannedSave } from './open-webui-chat-scan.ts'

/** What a whole-chat save did: how many message rows it inserted, rewrote and removed. */
export type SaveCounts = { inserted: number; rewritten: number; removed: number }
export type SaveResult =
  | { ok: true; chat: Chat; counts: SaveCounts; answer?: SavedAnswer }
  | { ok: false; reason: 'chat_not_found' | 'too_large' | 'folder_not_found' }
  | ({ ok: false; reason: 'bad_tree' } & SaveProblem)

/**
 * What readChatTreeBytes and the share's id give for a chat just saved, known from the save itself:
 * a save read against the held chat (saveChatBytesForUser) answers with it, not read again.
 */
export type SavedAnswer = { tree: ChatTree; bytes: () => HeldChatBytes; shareId: string | null }

/** A tree that reached the repository without passing the edge's checks. */
export class BadTreeError extends Error {
  constructor(readonly problem: SaveProblem) {
    super(`The chat's message tree is not valid (${problem.problem}).`)
    this.name = 'BadTreeError'
  }
}

/** How many ids a save of `incoming` may allocate at most: one for each message not stored yet (list messages without an id may take a stored one's). */
export function idsNeeded(stored: readonly PlannedAgainst[], incoming: NonNullable<ChatContent['messages']>): number {
  const storedUids = new Set(stored.map((message) => message.uid))
  let count = 0
  for (const message of incoming.messages) if (message.uid === null || !storedUids.has(message.uid)) count++
  return count
}

/** Allocation from ids taken beforehand, for the pure planner. */
export function allocatorOf(ids: number[]): () => MessageId {
  let next = 0
  return () => {
    if (next >= ids.length) throw new Error('A chat save allocated more message ids than it reserved.')
    return ids[next++] as MessageId
  }
}

/** What a save uses of the chat repository (chats-core.ts), which owns each of these. */
export type ChatSaveDeps = {
  sql: SqlEngine; now: () => number; keys: DataKeyRepo; rows: MessageRows; chats: ChatRows
  history: ChatHistoryCache; heldCopy: ChatHeldCopy; search: Pick<ChatSearchIndex, 'noteChange' | 'noteRewrite'>
  /** Runs the write in one transaction with message ids to allocate; `settle` applies what is kept in memory once it committed. */
  writeMessages<T>(write: (ids: IdAttempt, mark: (seq: number) => void) => Promise<T>, settle: (result: T, isNested: boolean) => void): Promise<T>
  /** Keeps the search index current after a committed write, or drops the owner's while an outer transaction may roll back. */
  afterWrite(owner: UserId, isNested: boolean, apply: () => void): void
  /** Tells the other instances of the write once it committed. */
  announce(owner: UserId, chatId: ChatId | null): void
}

/**
 * The repository's save: applies a whole-chat save in one transaction. `source` is the save read
 * whole, or its body with what to make of the content read from it; the body is read against the
 * held chat (chat-scanned-save.ts), and when it cannot be, nothing is written and the result is null.
 */
export function createChatSave({ sql, now, keys, rows, chats, history, heldCopy, search, writeMessages, afterWrite, announce }: ChatSaveDeps) {
  const { heldChat, heldBytesOf, afterMessagesWritten } = heldCopy

  type Written = { row: ChatRow; stored: Message[]; removed: MessageId[] } | null

  return async function save(owner: UserId, chatId: ChatId, source: ChatContent | SavedBody): Promise<SaveResult | null> {
    const at = now()
    const isNested = sql.inTransaction()
    let ring!: KeyRing
    let heldBytesBefore: HeldChatBytes | null = null
    let answerSettings: ChatSettings | null = null
    let shareId: string | null = null
    const outcome = await writeMessages(async (ids, mark): Promise<{ result: SaveResult | null; written: Written }> => {
      // note: a save read against the held chat answers with what it wrote and the share's id read here, not with the chat row read again (0.24 ms at 2,000 messages).
      const found = source instanceof SavedBody ? await chats.findForSave(owner, chatId) : null
      const row = source instanceof SavedBody ? found?.row ?? null : await chats.find(owner, chatId)
      if (row === null) return { result: { ok: false, reason: 'chat_not_found' }, written: null }
      ring = await keys.ringFor(owner)
      // note: a held chat tells what changed by comparing plaintext, and gives the stats and artifacts kept, without a digest or an opening per message.
      const held = await heldChat(row, ring, isNested)
      let content: ChatContent
      let scanned: ScannedSave | null = null
      let heldBytes: HeldChatBytes | null = null
      if (source instanceof SavedBody) {
        if (held === null) return { result: null, written: null }
        heldBytes = heldBytesOf(held, row.current_id as MessageId | null)
        const read = readSavedBody(source, heldBytes)
        if (read === null) return { result: null, written: null }
        scanned = read.scanned
        heldBytesBefore = heldBytes
        content = read.content
      } else content = source
      // note: a chat filed under a folder not the owner's shows in none of their lists (they leave out filed chats) nor folders; one already stored is not looked up again.
      if (typeof content.folderId === 'string' && content.folderId !== row.folder_id && !(await chats.isFolderOf(owner, content.folderId))) return { result: { ok: false, reason: 'folder_not_found' }, written: null }
      mark(row.seq)
      const storedSettings = found === null ? await chats.settingsOf(row, ring) : chats.openSettings(row, found.settings, ring)
      const incoming = content.settings ?? {}
      const settings: ChatSettings = {
        ...storedSettings, ...incoming,
        extra: incoming.extra === undefined ? storedSettings.extra : { ...storedSettings.extra, ...incoming.extra },
      }
      // note: other fields merge key by key, so saves could grow them past what one save may send.
      if (JSON.stringify(settings.extra ?? {}).length > CHAT_LIMITS.jsonBytes) return { result: { ok: false, reason: 'too_large' }, written: null }
      let currentId = row.current_id as MessageId | null
      const counts: SaveCounts = { inserted: 0, rewritten: 0, removed: 0 }
      let written: Written = null
      if (scanned !== null) {
        const done = await writeScannedMessages(rows, row.seq, chatId, held!, heldBytes!, scanned, currentId, at, ring)
        if (done === null) return { result: null, written: null }
        written = { row, stored: done.rewritten, removed: done.removed }
        counts.rewritten = done.rewritten.length
        counts.removed = done.removed.length
        currentId = done.currentId
      } else if (content.messages !== undefined) {
        // note: a held chat has every stored message's place and plain fields: the rows need not be read.
        const stored: readonly PlannedAgainst[] = held === null ? await rows.listStored(row.seq) : held.list()
        // note: the planner is pure and synchronous: stored rows whose digest cannot tell are opened first.
        const opened = new Map<MessageId, Message>()
        if (held === null) {
          for (const known of stored as StoredMessage[]) {
            if (!rows.canCompareByDigest(known, ring)) {
              const message = await rows.find(row.seq, chatId, known.id, ring)
              if (message !== null) opened.set(known.id, message)
            }
          }
        }
        const sameContent = held === null
          ? (known: PlannedAgainst, next: Message) => {
            const old = opened.get(known.id)
            return old === undefined ? rows.sameContentByDigest(chatId, known as StoredMessage, next, ring) : hasSameClientFields(old, next)
          }
          : (known: PlannedAgainst, next: Message) => hasSameClientFields(held.get(known.id)!, next)
        const allocate = allocatorOf(await ids.take(idsNeeded(stored, content.messages)))
        const plan = planChatSave(chatId, stored, currentId, content.messages, allocate, at, sameContent)
        if (isSaveProblem(plan)) throw new BadTreeError(plan)
        for (const id of plan.removes) await rows.remove(row.seq, id)
        const rewritten: Message[] = []
        for (const message of plan.rewrites) {
          // note: Enclave's own fields, which Open WebUI's clients never see, stay as the server wrote them.
          const old = held?.get(message.id) ?? opened.get(message.id) ?? (await rows.find(row.seq, chatId, message.id, ring))!
          const next = { ...message, stats: old.stats, artifacts: old.artifacts }
          await rows.rewrite(row.seq, next, ring)
          rewritten.push(next)
        }
        await rows.insertMany(row.seq, plan.inserts, ring)
        written = { row, stored: [...rewritten, ...plan.inserts], removed: plan.removes }
        counts.inserted = plan.inserts.length
        counts.rewritten = plan.rewrites.length
        counts.removed = plan.removes.length
        currentId = plan.currentId
      }
      const title = content.title ?? chats.titleOf(row, ring)
      const folderId = content.folderId === undefined ? row.folder_id : content.folderId
      await chats.writeContent(row, { title, settings, folderId, currentId }, at, ring)
      if (scanned !== null) {
        answerSettings = chats.settingsAsOpened(settings)
        shareId = found!.shareId
      }
      return { result: { ok: true, chat: { ...chats.fieldsOf(row), title, folderId, currentId, updatedAt: at }, counts }, written }
    }, ({ result, written }, nested) => {
      if (result === null) return
      if (result.ok && written !== null) afterMessagesWritten(written.row, ring, written.stored, written.removed, nested)
      // note: a save read against the held chat moved nothing: its answer's bytes are those held, but for the messages rewritten.
      if (result.ok && written !== null && heldBytesBefore !== null && !nested) {
        heldCopy.rememberAfterScannedSave(written.row, ring, heldBytesBefore, written.stored, written.removed, result.chat.currentId)
        const held = history.heldChat({ seq: written.row.seq, chatId, owner }, ring)
        if (held !== null && answerSettings !== null) {
          const currentId = result.chat.currentId
          const tree: ChatTree = { chat: result.chat, settings: answerSettings, get messages() { return held.list() as Message[] } }
          result.answer = { tree, bytes: () => heldBytesOf(held, currentId), shareId }
        }
      }
      if (result.ok) {
        afterWrite(owner, nested, () => {
          search.noteChange(owner, chatId, { title: result.chat.title, updatedAt: at })
          if (result.counts.inserted + result.counts.rewritten + result.counts.removed > 0) search.noteRewrite(owner, chatId)
        })
        announce(owner, chatId)
      }
    })
    return outcome.result
  }
}
