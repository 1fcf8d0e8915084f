/**
 * Chat rows: how a chat's own row is sealed, stored and opened. The title and the settings clients
 * save with a chat (models, params, system prompt, tags, other fields) are sealed with the chat's id
 * in their AAD; flags, times, the folder and the selected leaf are plain, as listings need them.
 * Every statement that names a chat id also names its owner, so another user's id finds nothing.
 * Sealing and opening take the owner's key ring from the caller, which reads it once per call.
 */
import type { Chat, ChatSettings } from './chat-tree.ts'
import type { KeyRing } from './data-keys.ts'
import type { SqlEngine } from './engine.ts'
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
/** A chat's settings as stored, sealed: read with its row for a turn, opened by `openSettings`. */
export type TurnSettings = SettingsRow

/** A new chat's row: its id, owner, times, flags, folder, title and settings. */
export type NewChatRow = Pick<Chat, 'id' | 'userId' | 'title' | 'pinned' | 'archived' | 'folderId' | 'createdAt' | 'updatedAt'> & { settings: ChatSettings }

/** The chat id `ready` seals under: no chat's (a chat id is a UUID). */
const READY_CHAT_ID = 'ready'
const COLUMNS = 'seq, id, user_id, title, pinned, archived, folder_id, current_id, created_at, updated_at'

/** What an append reads of its chat row, and knows of it already (its id and owner). */
export type AppendTarget = Pick<ChatRow, 'seq' | 'id' | 'user_id' | 'current_id' | 'updated_at'>

/** findForAppend's statement for each question asked: index (parent asked ? 2 : 0) + (client id asked ? 1 : 0). */
const FIND_FOR_APPEND = [false, true].flatMap((parentAsked) => [false, true].map((uidAsked) => {
  const hasParent = parentAsked ? 'CASE WHEN EXISTS (SELECT 1 FROM message WHERE message.id = ? AND message.chat_seq = chat.seq) THEN 1 ELSE 0 END' : '1'
  const uidTaken = uidAsked ? 'CASE WHEN EXISTS (SELECT 1 FROM message WHERE message.chat_seq = chat.seq AND message.uid = ?) THEN 1 ELSE 0 END' : '0'
  return `SELECT seq, current_id, updated_at, ${hasParent} AS has_parent, ${uidTaken} AS uid_taken FROM chat WHERE id = ? AND user_id = ?`
}))

export function createChatRows(sql: SqlEngine) {
  // note: RETURNING (SQLite ≥3.35, PostgreSQL) rather than lastInsertRowid, which only SQLite has.
  const UPDATE_CURRENT = 'UPDATE chat SET current_id = ? WHERE seq = ?'
  const INSERT = `INSERT INTO chat (id, user_id, title, pinned, archived, created_at, updated_at, folder_id, models, params, system, tags, extra)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`
  // note: ordered by seq as the tie-break so chat_by_user_listing (003) serves each page, offset included.
  const filteredPage = (where: string) => `SELECT ${COLUMNS} FROM chat WHERE user_id = ? AND ${where} ORDER BY updated_at DESC, seq DESC LIMIT ? OFFSET ?`
  const SELECT_FILTERED: Record<ChatFilter, string> = {
    live: filteredPage('archived = 0'),
    archived: filteredPage('archived = 1'),
    pinned: filteredPage('archived = 0 AND pinned = 1'),
    'live-unpinned': filteredPage('archived = 0 AND pinned = 0'),
    'live-unfiled': filteredPage('archived = 0 AND folder_id IS NULL'),
    'live-loose': filteredPage('archived = 0 AND pinned = 0 AND folder_id IS NULL'),
  }
  /**
   * One page of all of a user's chats, most recently updated first: live and archived ones each
   * read in order along chat_by_user_listing and merged as read, so it stops at the page's last
   * row. note: schema 13 dropped the index on (user_id, updated_at) this page alone used, whose
   * entry every append moved: one 8 KB WAL frame of 6.3 an append into one chat. The page costs
   * 7-11 µs more (20 against 12 µs for one row, 62 against 51 for 50); archived is 0 or 1 (CHECK).
   */
  const SELECT_PAGE = `SELECT ${COLUMNS} FROM chat WHERE user_id = ? AND archived = 0
    UNION ALL SELECT ${COLUMNS} FROM chat WHERE user_id = ? AND archived = 1
    ORDER BY updated_at DESC, id LIMIT ? OFFSET ?`
  const UPDATE_FLAG = {
    pinned: 'UPDATE chat SET pinned = ? WHERE id = ? AND user_id = ?',
    archived: 'UPDATE chat SET archived = ? WHERE id = ? AND user_id = ?',
  }
  /** SQLite reads a negative LIMIT as none; PostgreSQL wants NULL (LIMIT ALL). */
  const limitOf = (page: Page): number | null => (page.limit < 0 ? (sql.dialect === 'sqlite' ? -1 : null) : page.limit)

  const sealSettings = (chatId: string, settings: ChatSettings, ring: KeyRing) => {
    const sealed = chatTable.seal(chatId, { title: null, ...settings }, ring)
    return [sealed.models, sealed.params, sealed.system, sealed.tags, sealed.extra] as const
  }
  const sealTitle = (chatId: string, title: string, ring: KeyRing) => chatTable.sealColumn('title', chatId, title, ring)!
  const openSettings = (row: ChatRow, sealed: SettingsRow, ring: KeyRing): ChatSettings => {
    const open = <K extends keyof SettingsRow>(column: K) => chatTable.openColumn(column, row.id, sealed[column], ring)
    return {
      models: open('models') as unknown[] | null, params: open('params') as Record<string, unknown> | null, system: open('system'),
      tags: open('tags') as unknown[] | null, extra: open('extra') as Record<string, unknown> | null,
    }
  }

  return {
    /**
     * Readies a chat's start (chats-ready.ts): prepares the statements that insert its row and select its
     * message, and seals a title and settings under `ring` (a throwaway key). Writes nothing.
     */
    ready(ring: KeyRing): void {
      sql.prepare([INSERT, UPDATE_CURRENT])
      sealTitle(READY_CHAT_ID, 'New Chat', ring)
      sealSettings(READY_CHAT_ID, { models: ['ready'], params: null, system: null, tags: null, extra: null }, ring)
    },
    /** Inserts a chat row; returns its seq. */
    async insert(chat: NewChatRow, ring: KeyRing): Promise<number> {
      const inserted = await sql.get<{ seq: number }>(INSERT, chat.id, chat.userId, sealTitle(chat.id, chat.title, ring), chat.pinned ? 1 : 0, chat.archived ? 1 : 0,
        chat.createdAt, chat.updatedAt, chat.folderId, ...sealSettings(chat.id, chat.settings, ring))
      return Number(inserted!.seq)
    },
    /** Says whether `folderId` names one of the owner's folders (a chat may be filed only there). */
    isFolderOf: async (owner: UserId, folderId: string): Promise<boolean> =>
      (await sql.get('SELECT id FROM folder WHERE id = ? AND user_id = ?', folderId, owner)) !== null,
    /** The owner's chat row, or null. */
    find: (owner: UserId, chatId: ChatId): Promise<ChatRow | null> => sql.get<ChatRow>(`SELECT ${COLUMNS} FROM chat WHERE id = ? AND user_id = ?`, chatId, owner),
    /**
     * Before a save read against the held chat, in one read: the owner's chat row (null: not
     * theirs), its sealed settings (opened by `openSettings`) and the id of its share link (null:
     * not shared), what the save's answer sends as `share_id`.
     * note: one statement where the save read the settings, and its answer the row and the share, apart (0.1 ms the share alone at 2,000 messages).
     */
    async findForSave(owner: UserId, chatId: ChatId): Promise<{ row: ChatRow; settings: TurnSettings; shareId: string | null } | null> {
      const found = await sql.get<ChatRow & SettingsRow & { share_id: string | null }>(
        `SELECT ${COLUMNS}, models, params, system, tags, extra, (SELECT chat_share.id FROM chat_share WHERE chat_share.chat_seq = chat.seq) AS share_id FROM chat WHERE id = ? AND user_id = ?`, chatId, owner)
      if (found === null) return null
      const { models, params, system, tags, extra, share_id: shareId, ...row } = found
      return { row, settings: { models, params, system, tags, extra }, shareId }
    },
    /**
     * Before an append, in one read: the owner's chat (null: not theirs) as its seq and selected
     * message and time, whether it holds the message `parentId` (null: not asked, answered true) and whether
     * one of its messages already has the client id `uid` (null: not asked, false).
     * note: only the three columns an append uses, not the whole row (its sealed title among them): one
     * object of five fields made from the answer, not a row copied twice.
     */
    async findForAppend(owner: UserId, chatId: ChatId, parentId: number | null, uid: string | null): Promise<{ row: AppendTarget; hasParent: boolean; uidTaken: boolean } | null> {
      const found = await sql.get<{ seq: number; current_id: number | null; updated_at: number; has_parent: number; uid_taken: number }>(
        FIND_FOR_APPEND[(parentId === null ? 0 : 2) + (uid === null ? 0 : 1)]!, ...(parentId === null ? [] : [parentId]), ...(uid === null ? [] : [uid]), chatId, owner)
      if (found === null) return null
      return { row: { seq: found.seq, id: chatId, user_id: owner, current_id: found.current_id, updated_at: found.updated_at }, hasParent: Number(found.has_parent) === 1, uidTaken: Number(found.uid_taken) === 1 }
    },
    /** Whose chat this is, or null. */
    async ownerOf(chatId: ChatId): Promise<UserId | null> {
      return ((await sql.get<{ user_id: string }>('SELECT user_id FROM chat WHERE id = ?', chatId))?.user_id ?? null) as UserId | null
    },
    page: (owner: UserId, page: Page) => sql.all<ChatRow>(SELECT_PAGE, owner, owner, limitOf(page), page.offset),
    filteredPage: (owner: UserId, filter: ChatFilter, page: Page) => sql.all<ChatRow>(SELECT_FILTERED[filter], owner, limitOf(page), page.offset),
    allOf: (owner: UserId) => sql.all<ChatRow>(`SELECT ${COLUMNS} FROM chat WHERE user_id = ?`, owner),
    /** The ids of the owner's chats, most recently updated first (ids only: nothing sealed is read). */
    idsOf: async (owner: UserId) => (await sql.all<{ id: string }>('SELECT id FROM chat WHERE user_id = ? ORDER BY updated_at DESC, id', owner)).map((row) => row.id as ChatId),
    /** Opens the settings of a chat row (five sealed fields, read only when a chat is opened or saved). */
    async settingsOf(row: ChatRow, ring: KeyRing): Promise<ChatSettings> {
      return openSettings(row, (await sql.get<SettingsRow>('SELECT models, params, system, tags, extra FROM chat WHERE seq = ?', row.seq))!, ring)
    },
    /**
     * Before a turn, in one read: the owner's chat row (null: not theirs), its sealed settings, and
     * the internal id of its message with the client id `uid` (null: none, or not asked).
     * note: one statement where a turn read the row four times (each a round trip on PostgreSQL).
     */
    async findForTurn(owner: UserId, chatId: ChatId, uid: string | null): Promise<{ row: ChatRow; settings: TurnSettings; uidId: MessageId | null } | null> {
      const uidId = uid === null ? 'NULL' : '(SELECT message.id FROM message WHERE message.chat_seq = chat.seq AND message.uid = ?)'
      const found = await sql.get<ChatRow & SettingsRow & { uid_id: number | null }>(
        `SELECT ${COLUMNS}, models, params, system, tags, extra, ${uidId} AS uid_id FROM chat WHERE id = ? AND user_id = ?`, ...(uid === null ? [] : [uid]), chatId, owner)
      if (found === null) return null
      const { models, params, system, tags, extra, uid_id, ...row } = found
      return { row, settings: { models, params, system, tags, extra }, uidId: uid_id === null ? null : Number(uid_id) as MessageId }
    },
    /** Opens sealed settings read with the row (findForTurn). */
    openSettings: (row: ChatRow, sealed: TurnSettings, ring: KeyRing): ChatSettings => openSettings(row, sealed, ring),
    /**
     * The settings as settingsOf opens them once writeContent sealed them: each JSON column as its
     * JSON read back, the text as is, none (undefined) as null; without the read and the opening.
     */
    settingsAsOpened(settings: ChatSettings): ChatSettings {
      const json = (value: unknown) => value === null || value === undefined ? null : JSON.parse(JSON.stringify(value))
      return {
        models: json(settings.models), params: json(settings.params), system: settings.system === undefined ? null : settings.system,
        tags: json(settings.tags), extra: json(settings.extra),
      }
    },
    /** A chat row's plain fields. */
    fieldsOf(row: ChatRow): Omit<Chat, 'title'> {
      return {
        id: row.id as ChatId, userId: row.user_id as UserId, pinned: row.pinned === 1, archived: row.archived === 1,
        folderId: row.folder_id, currentId: row.current_id as MessageId | null, createdAt: row.created_at, updatedAt: row.updated_at,
      }
    },
    titleOf: (row: ChatRow, ring: KeyRing): string => chatTable.openColumn('title', row.id, row.title, ring)!,
    /** Renames the owner's chat; false when it is not theirs. */
    rename: async (owner: UserId, chatId: ChatId, title: string, at: number, ring: KeyRing): Promise<boolean> =>
      (await sql.run('UPDATE chat SET title = ?, updated_at = ? WHERE id = ? AND user_id = ?', sealTitle(chatId, title, ring), at, chatId, owner)).changes === 1,
    /** Writes everything a whole-chat save may change. */
    async writeContent(row: ChatRow, content: { title: string; settings: ChatSettings; folderId: string | null; currentId: MessageId | null }, at: number, ring: KeyRing): Promise<void> {
      await sql.run('UPDATE chat SET title = ?, models = ?, params = ?, system = ?, tags = ?, extra = ?, folder_id = ?, current_id = ?, updated_at = ? WHERE seq = ?',
        sealTitle(row.id, content.title, ring), ...sealSettings(row.id, content.settings, ring), content.folderId, content.currentId, at, row.seq)
    },
    /** Marks the chat updated at `at`, with `currentId` selected. */
    touch: async (seq: number, at: number, currentId: MessageId | null): Promise<void> => {
      await sql.run('UPDATE chat SET updated_at = ?, current_id = ? WHERE seq = ?', at, currentId, seq)
    },
    /**
     * After an append: the chat updated at `at` with `currentId` selected, as `touch` leaves it.
     * `storedAt` is the `updated_at` the append read (findForAppend).
     * note: when the append comes in the millisecond the row already holds, the UPDATE does not name
     * `updated_at`: SQLite rewrites the entry of an index whenever the SET names one of its columns,
     * whatever the value, so `chat_by_user_listing`'s leaf was written to the WAL on every append (an
     * 8 KB frame of 4.3 an append into one chat, ~16 appends a millisecond). The row ends the same:
     * the statement only changes it while `updated_at` still equals `at`, so a write of the append's own
     * transaction between the read and this falls back to the full UPDATE (another instance's committed
     * write fails a PostgreSQL transaction, which runs SERIALIZABLE, and the engine runs it again); any
     * other time, earlier or later, is SET.
     */
    async touchAppended(seq: number, at: number, currentId: MessageId, storedAt: number): Promise<void> {
      if (at === storedAt && (await sql.run('UPDATE chat SET current_id = ? WHERE seq = ? AND updated_at = ?', currentId, seq, at)).changes === 1) return
      await sql.run('UPDATE chat SET updated_at = ?, current_id = ? WHERE seq = ?', at, currentId, seq)
    },
    /** Selects a leaf without marking the chat updated. */
    select: async (seq: number, currentId: MessageId | null): Promise<void> => {
      await sql.run(UPDATE_CURRENT, currentId, seq)
    },
    setFlag: async (owner: UserId, chatId: ChatId, flag: 'pinned' | 'archived', value: boolean): Promise<boolean> =>
      (await sql.run(UPDATE_FLAG[flag], value ? 1 : 0, chatId, owner)).changes === 1,
    remove: async (owner: UserId, chatId: ChatId): Promise<boolean> => (await sql.run('DELETE FROM chat WHERE id = ? AND user_id = ?', chatId, owner)).changes === 1,
    removeAllOf: async (owner: UserId): Promise<number> => (await sql.run('DELETE FROM chat WHERE user_id = ?', owner)).changes,
  }
}

export type ChatRows = ReturnType<typeof createChatRows>
