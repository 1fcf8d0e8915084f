/**
 * The chat repository's search (chats.ts): a user's live chats whose title or any message contains a
 * text, found in the memory-only index of chats-search.ts, which is filled here by opening the
 * owner's chats and every message's content from the rows (message-rows.ts contentsOfOwner).
 *
 * Threat: decrypted text kept where it should not be. The index is kept only while decrypted chats
 * may be held (`mayHold`) and outside an outer transaction, which may roll back what it would index;
 * the repository's writes keep it current or drop it (chats-core.ts afterWrite).
 */
import type { Page } from './chat-rows.ts'
import type { Chat } from './chat-tree.ts'
import type { ChatsCore } from './chats-core.ts'
import { chatMatches, indexedChat, searchableText, type IndexedChat } from './chats-search.ts'
import type { ChatId, UserId } from './ids.ts'

/** The repository's search method. */
export function createChatSearchRead({ sql, rows, chats, search, mayHold, withRing, toChat }: ChatsCore) {
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

  return {
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
  }
}
