/**
 * The chat repository's writes to a chat as a whole (chats.ts): renamed, pinned, archived, deleted
 * (one or all of the owner's), and saved whole as a client holds it (chat-whole-save.ts, its body
 * read against the held chat when it can be: chat-scanned-save.ts).
 *
 * Threat: a write to another user's chat, memory that says what the rows do not, or an answer still
 * streaming into a deleted chat. Each write names the owner; the search index is kept current only
 * once the write committed (chats-core.ts afterWrite), each write is announced to other instances,
 * and deletions to `changes`, so answers streaming into them stop.
 */
import { SavedBody } from './chat-scanned-save.ts'
import type { Chat, ChatContent } from './chat-tree.ts'
import { BadTreeError, createChatSave, type SaveResult } from './chat-whole-save.ts'
import type { ChatsCore } from './chats-core.ts'
import { findChat } from './chats-reads.ts'
import type { ChatId, UserId } from './ids.ts'

/** The repository's methods that write a chat as a whole. */
export function createChatWrites(core: ChatsCore) {
  const { sql, keys, now, changes, chats, search, afterWrite, announce } = core

  async function setFlag(field: 'pinned' | 'archived', owner: UserId, chatId: ChatId, value: boolean): Promise<Chat | null> {
    const isNested = sql.inTransaction()
    if (!(await chats.setFlag(owner, chatId, field, value))) return null
    afterWrite(owner, isNested, () => search.noteChange(owner, chatId, { [field]: value }))
    announce(owner, chatId)
    return findChat(core, owner, chatId)
  }

  const save = createChatSave(core)

  return {
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
  }
}
