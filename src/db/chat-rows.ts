/**
 * Chat rows: how a chat's own row is sealed, stored and opened. The title and the settings clients
 * save with a chat (models, params, system prompt, tags, other fields) are sealed with the chat's id
 * in their AAD; flags, times, the folder and the selected leaf are plain, as listings need them.
 * Every statement that names a chat id also names its owner, so another user's id finds nothing.
 */
import type { Database } from 'bun:sqlite'
import type { Chat, ChatSettings } from './chat-tree.ts'
import type { DataKeyRepo } from './data-keys.ts'
import type { ChatId, MessageId, UserId } from './ids.ts'
import { sealedTable } from './sealed-table.ts'

const chatTable = sealedTable('chat', { title: 'text', models: 'json', params: 'json', system: 'text', tags: 'json', extra: 'json' })

/**
 * Which of a user's chats a listing shows: the live ones (not archived), archived, or pinned and
 * live; `loose` live ones leave out the pinned, the filed (in a folder), or both, as Open WebUI's
 * sidebar list does.
 */
export type ChatFilter = 'live' | 'archived' | 'pinned' | 'live-unpinned' | 'live-unfiled' | 'live-loose'

export type Page = { limit: number; offset: number }

export type ChatRow = {
  seq: number; id: string; user_id: string; title: Uint8Array; pinned: number; archived: number
  folder_id: string | null; current_id: number | null; created_at: number; updated_at: number
}
type SettingsRow = { models: Uint8Array | null; params: Uint8Array | null; system: Uint8Array | null; tags: Uint8Array | null; extra: Uint8Array | null }
type Sealed = Uint8Array | null

/** A new chat's row: its id, owner, times, flags, folder, title and settings. */
export type NewChatRow = Pick<Chat, 'id' | 'userId' | 'title' | 'pinned' | 'archived' | 'folderId' | 'createdAt' | 'updatedAt'> & { settings: ChatSettings }

const COLUMNS = 'seq, id, user_id, title, pinned, archived, folder_id, current_id, created_at, updated_at'

export function createChatRows(db: Database, keys: DataKeyRepo) {
  // note: RETURNING (SQLite ≥3.35, PostgreSQL) rather than lastInsertRowid, which only SQLite has.
  const insert = db.query<{ seq: number }, [string, string, Uint8Array, number, number, number, number, string | null, Sealed, Sealed, Sealed, Sealed, Sealed]>(
    `INSERT INTO chat (id, user_id, title, pinned, archived, created_at, updated_at, folder_id, models, params, system, tags, extra)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`)
  const select = db.query<ChatRow, [string, string]>(`SELECT ${COLUMNS} FROM chat WHERE id = ? AND user_id = ?`)
  const selectSettings = db.query<SettingsRow, [number]>('SELECT models, params, system, tags, extra FROM chat WHERE seq = ?')
  const selectPage = db.query<ChatRow, [string, number, number]>(`SELECT ${COLUMNS} FROM chat WHERE user_id = ? ORDER BY updated_at DESC, id LIMIT ? OFFSET ?`)
  const selectAll = db.query<ChatRow, [string]>(`SELECT ${COLUMNS} FROM chat WHERE user_id = ?`)
  // note: ordered by seq as the tie-break so chat_by_user_listing (003) serves each page, offset included.
  const filteredPage = (where: string) => db.query<ChatRow, [string, number, number]>(
    `SELECT ${COLUMNS} FROM chat WHERE user_id = ? AND ${where} ORDER BY updated_at DESC, seq DESC LIMIT ? OFFSET ?`)
  const selectFiltered: Record<ChatFilter, ReturnType<typeof filteredPage>> = {
    live: filteredPage('archived = 0'),
    archived: filteredPage('archived = 1'),
    pinned: filteredPage('archived = 0 AND pinned = 1'),
    'live-unpinned': filteredPage('archived = 0 AND pinned = 0'),
    'live-unfiled': filteredPage('archived = 0 AND folder_id IS NULL'),
    'live-loose': filteredPage('archived = 0 AND pinned = 0 AND folder_id IS NULL'),
  }
  const updateTitle = db.query<void, [Uint8Array, number, string, string]>('UPDATE chat SET title = ?, updated_at = ? WHERE id = ? AND user_id = ?')
  const updateContent = db.query<void, [Uint8Array, Sealed, Sealed, Sealed, Sealed, Sealed, string | null, number | null, number, number]>(
    'UPDATE chat SET title = ?, models = ?, params = ?, system = ?, tags = ?, extra = ?, folder_id = ?, current_id = ?, updated_at = ? WHERE seq = ?')
  const touch = db.query<void, [number, number | null, number]>('UPDATE chat SET updated_at = ?, current_id = ? WHERE seq = ?')
  const updateCurrent = db.query<void, [number | null, number]>('UPDATE chat SET current_id = ? WHERE seq = ?')
  const updateFlag = {
    pinned: db.query<void, [number, string, string]>('UPDATE chat SET pinned = ? WHERE id = ? AND user_id = ?'),
    archived: db.query<void, [number, string, string]>('UPDATE chat SET archived = ? WHERE id = ? AND user_id = ?'),
  }
  const remove = db.query<void, [string, string]>('DELETE FROM chat WHERE id = ? AND user_id = ?')
  const removeAllOf = db.query<void, [string]>('DELETE FROM chat WHERE user_id = ?')

  const ringOf = (owner: string) => keys.keysForOwner(owner)
  const sealSettings = (chatId: string, settings: ChatSettings, owner: string) => {
    const sealed = chatTable.seal(chatId, { title: null, ...settings }, ringOf(owner))
    return [sealed.models, sealed.params, sealed.system, sealed.tags, sealed.extra] as const
  }
  const sealTitle = (chatId: string, title: string, owner: string) => chatTable.sealColumn('title', chatId, title, ringOf(owner))!

  return {
    /** Inserts a chat row; returns its seq. */
    insert(chat: NewChatRow): number {
      const inserted = insert.get(chat.id, chat.userId, sealTitle(chat.id, chat.title, chat.userId), chat.pinned ? 1 : 0, chat.archived ? 1 : 0,
        chat.createdAt, chat.updatedAt, chat.folderId, ...sealSettings(chat.id, chat.settings, chat.userId))
      return Number(inserted!.seq)
    },
    /** The owner's chat row, or null. */
    find: (owner: UserId, chatId: ChatId): ChatRow | null => select.get(chatId, owner),
    page: (owner: UserId, page: Page) => selectPage.all(owner, page.limit, page.offset),
    filteredPage: (owner: UserId, filter: ChatFilter, page: Page) => selectFiltered[filter].all(owner, page.limit, page.offset),
    allOf: (owner: UserId) => selectAll.all(owner),
    /** Opens the settings of a chat row (five sealed fields, read only when a chat is opened or saved). */
    settingsOf(row: ChatRow): ChatSettings {
      const sealed = selectSettings.get(row.seq)!
      const ring = ringOf(row.user_id)
      const open = <K extends keyof SettingsRow>(column: K) => chatTable.openColumn(column, row.id, sealed[column], ring)
      return {
        models: open('models') as unknown[] | null, params: open('params') as Record<string, unknown> | null, system: open('system'),
        tags: open('tags') as unknown[] | null, extra: open('extra') as Record<string, unknown> | null,
      }
    },
    /** A chat row's plain fields. */
    fieldsOf(row: ChatRow): Omit<Chat, 'title'> {
      return {
        id: row.id as ChatId, userId: row.user_id as UserId, pinned: row.pinned === 1, archived: row.archived === 1,
        folderId: row.folder_id, currentId: row.current_id as MessageId | null, createdAt: row.created_at, updatedAt: row.updated_at,
      }
    },
    titleOf: (row: ChatRow): string => chatTable.openColumn('title', row.id, row.title, ringOf(row.user_id))!,
    /** Renames the owner's chat; false when it is not theirs. */
    rename: (owner: UserId, chatId: ChatId, title: string, at: number): boolean => updateTitle.run(sealTitle(chatId, title, owner), at, chatId, owner).changes === 1,
    /** Writes everything a whole-chat save may change. */
    writeContent(row: ChatRow, content: { title: string; settings: ChatSettings; folderId: string | null; currentId: MessageId | null }, at: number): void {
      updateContent.run(sealTitle(row.id, content.title, row.user_id), ...sealSettings(row.id, content.settings, row.user_id), content.folderId, content.currentId, at, row.seq)
    },
    /** Marks the chat updated at `at`, with `currentId` selected. */
    touch: (seq: number, at: number, currentId: MessageId | null) => void touch.run(at, currentId, seq),
    /** Selects a leaf without marking the chat updated. */
    select: (seq: number, currentId: MessageId | null) => void updateCurrent.run(currentId, seq),
    setFlag: (owner: UserId, chatId: ChatId, flag: 'pinned' | 'archived', value: boolean): boolean => updateFlag[flag].run(value ? 1 : 0, chatId, owner).changes === 1,
    remove: (owner: UserId, chatId: ChatId): boolean => remove.run(chatId, owner).changes === 1,
    removeAllOf: (owner: UserId): number => removeAllOf.run(owner).changes,
  }
}

export type ChatRows = ReturnType<typeof createChatRows>
