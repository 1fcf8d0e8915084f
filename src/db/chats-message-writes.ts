/**
 * The chat repository's writes to one message of a chat (chats.ts): a message appended under a parent
 * (a socket turn's question and answer), an answer's fields rewritten while it streams and when it
 * ends, the selected leaf changed, a message removed with its direct children (the turns after move up).
 *
 * Threat: a write to another user's chat, or memory that says what the rows do not. Each write finds
 * the chat by its owner first and runs through writeMessages (chats-core.ts): the chat's held copy is
 * set aside while it runs, brought up to date once it committed (chat-held-copy.ts), dropped when it
 * failed or ran inside an outer transaction.
 */
import type { AppendTarget, ChatRow } from './chat-rows.ts'
import { newestLeaf, type Message, type MessagePatch, type NewMessage } from './chat-tree.ts'
import type { ChatsCore } from './chats-core.ts'
import { appendMessage } from './chats-create.ts'
import type { KeyRing } from './data-keys.ts'
import type { ChatId, MessageId, UserId } from './ids.ts'

/** The repository's methods that write one message of a chat. */
export function createMessageWrites(core: ChatsCore) {
  const { sql, keys, now, rows, chats, search, history, heldCopy, writeMessages, afterWrite, announce } = core
  const { heldChat } = heldCopy
  return {
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
        const inserted = await appendMessage(core, ring, chat, input, at, id, uidTaken)
        await chats.touchAppended(chat.seq, at, inserted.id, chat.updated_at)
        chat.updated_at = at
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

    /**
     * Removes the message the client calls `uid` and its direct children (a question and its
     * answers, or an answer and the questions asked after it); the messages under those move up
     * under the removed message's parent (roots when it had none), so the later turns stay. The
     * selected leaf stays when it is still in the chat; when it went, the leaf reached from the
     * parent by the newest child is selected (from the newest root when the parent is none).
     * Returns how many messages went, or null when the chat is not theirs or holds no such message.
     */
    // note: Open WebUI's rule (its page's deleteMessage, src/lib/components/chat/Messages.svelte, and
    // Conduit's buildOpenWebUiDeletePlan, lib/core/utils/message_tree_utils.dart, which shows the later
    // turns kept and then calls this route); Open WebUI's backend has no such route. Siblings here
    // are ordered by id, so a moved message keeps its place by age among its new siblings.
    async deleteMessage(owner: UserId, chatId: ChatId, uid: string): Promise<number | null> {
      const removed = await writeMessages(async (_ids, mark): Promise<{ seq: number; count: number } | null> => {
        const chat = await chats.find(owner, chatId)
        if (chat === null) return null
        const shapes = await rows.shapes(chat.seq)
        const target = shapes.find((message) => message.uid === uid)
        if (target === undefined) return null
        mark(chat.seq)
        const children = shapes.filter((message) => message.parentId === target.id)
        const gone = new Set([target.id, ...children.map((child) => child.id)])
        for (const child of children) await rows.moveChildren(chat.seq, child.id, target.parentId)
        for (const id of gone) await rows.remove(chat.seq, id)
        const left = shapes.filter((message) => !gone.has(message.id))
          .map((message) => (message.parentId !== null && gone.has(message.parentId) ? { ...message, parentId: target.parentId } : message))
        const isSelectionGone = chat.current_id !== null && gone.has(chat.current_id as MessageId)
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
  }
}
