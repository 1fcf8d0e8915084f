/**
 * A chat's tags, as Open WebUI keeps them: a tag's id is its name lower-cased with spaces made
 * underscores, and a user's tags are those their chats carry. The names, as the user typed them,
 * are sealed in the chat row (`tag_names`, the chat's id in the AAD); nothing about a tag is plain
 * on disk, so listing a user's tags opens the tags of each of their chats that has any.
 */
import type { SqlEngine } from './engine.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { ChatId, UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'

const tagTable = sealedTable('chat', { tag_names: 'json' })

/** A tag as Open WebUI answers it. */
export type Tag = { id: string; name: string }

/** Open WebUI's tag id for a name: lower-case, spaces as underscores. */
export const tagIdOf = (name: string): string => name.replaceAll(' ', '_').toLowerCase()

export function createChatTagRepo(sql: SqlEngine, keys: DataKeyRepo) {
  const select = (chatId: string, owner: string) => sql.get<{ tag_names: Uint8Array | null }>('SELECT tag_names FROM chat WHERE id = ? AND user_id = ?', chatId, owner)

  const open = async (owner: UserId, chatId: string, sealed: Uint8Array | null): Promise<Tag[]> =>
    ((tagTable.openColumn('tag_names', chatId, sealed, await keys.ringFor(owner)) ?? []) as string[]).map((name) => ({ id: tagIdOf(name), name }))
  const write = async (owner: UserId, chatId: ChatId, tags: readonly Tag[]) =>
    sql.run('UPDATE chat SET tag_names = ? WHERE id = ? AND user_id = ?',
      tags.length === 0 ? null : tagTable.sealColumn('tag_names', chatId, tags.map((tag) => tag.name), await keys.ringFor(owner)), chatId, owner)

  /** Every tagged chat of the owner with its tags. */
  async function taggedChatsOf(owner: UserId): Promise<Map<ChatId, Tag[]>> {
    const rows = await sql.all<{ id: string; tag_names: Uint8Array }>('SELECT id, tag_names FROM chat WHERE user_id = ? AND tag_names IS NOT NULL', owner)
    return new Map(await Promise.all(rows.map(async (row) => [row.id as ChatId, await open(owner, row.id, row.tag_names)] as const)))
  }

  return {
    /** The tags of the owner's chat, or null when the chat is not theirs. */
    async listTagsOfChat(owner: UserId, chatId: ChatId): Promise<Tag[] | null> {
      const row = await select(chatId, owner)
      return row === null ? null : open(owner, chatId, row.tag_names)
    },

    /** Adds a tag to the owner's chat (a tag it has already is kept as it is); returns its tags, or null when the chat is not theirs. */
    addTagToChat(owner: UserId, chatId: ChatId, name: string): Promise<Tag[] | null> {
      return sql.transaction(async () => {
        const row = await select(chatId, owner)
        if (row === null) return null
        const tags = await open(owner, chatId, row.tag_names)
        const id = tagIdOf(name)
        if (tags.some((tag) => tag.id === id)) return tags
        // note: as Open WebUI's tag table, the first spelling of a tag the user has is the one kept.
        const known = [...(await taggedChatsOf(owner)).values()].flat().find((tag) => tag.id === id)
        const next = [...tags, known ?? { id, name }]
        await write(owner, chatId, next)
        return next
      })
    },

    /** Removes a tag (by name or id) from the owner's chat; returns its tags, or null when the chat is not theirs. */
    removeTagFromChat(owner: UserId, chatId: ChatId, name: string): Promise<Tag[] | null> {
      return sql.transaction(async () => {
        const row = await select(chatId, owner)
        if (row === null) return null
        const next = (await open(owner, chatId, row.tag_names)).filter((tag) => tag.id !== tagIdOf(name))
        await write(owner, chatId, next)
        return next
      })
    },

    /** Removes every tag of the owner's chat; false when the chat is not theirs. */
    async clearTagsOfChat(owner: UserId, chatId: ChatId): Promise<boolean> {
      return (await write(owner, chatId, [])).changes === 1
    },

    /** Every tag the owner's chats carry, once each, in the order first met. */
    async listTagsOfUser(owner: UserId): Promise<Tag[]> {
      const byId = new Map<string, Tag>()
      for (const tags of (await taggedChatsOf(owner)).values()) for (const tag of tags) if (!byId.has(tag.id)) byId.set(tag.id, tag)
      return [...byId.values()]
    },

    /** Every tagged chat of the owner with the ids of its tags. */
    async listTagIdsByChat(owner: UserId): Promise<Map<ChatId, Set<string>>> {
      return new Map([...(await taggedChatsOf(owner))].map(([chatId, tags]) => [chatId, new Set(tags.map((tag) => tag.id))]))
    },
  }
}

export type ChatTagRepo = ReturnType<typeof createChatTagRepo>
