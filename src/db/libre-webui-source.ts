/**
 * Reads a Libre WebUI database (data.sqlite, SQLite) read-only into plain records: users (table
 * `users`: username, email sealed by Libre WebUI, bcrypt `password_hash`, role), their preferences
 * (`user_preferences`, one JSON value per key), chats (`sessions`) and their messages
 * (`session_messages`, ordered by `message_index`, with images, statistics and artifacts as JSON).
 * Libre WebUI seals emails, titles, message fields and preference values in its own format
 * (crypto/libre-webui-cipher.ts); older rows hold plaintext.
 *
 * Everything is read and opened once before anything is written: a value that looks encrypted but
 * does not open with the key given refuses the whole import, counted, so ciphertext is never
 * imported as text. Rows are read from statement iterators, a chat at a time, so memory stays flat.
 */
import type { Database } from 'bun:sqlite'
import { looksEncrypted, openLibreValue } from '../crypto/libre-webui-cipher.ts'
import { CHAT_LIMITS, MESSAGE_UID_PATTERN, type ChatContent, type MessageRole } from './chat-tree.ts'
import type { ChatId, UserId } from './ids.ts'
import { enclaveIdFor, MalformedSourceError, type SourceChat, type SourceUser } from './open-webui-source.ts'
import { openSourceDatabase } from './source-database.ts'
import type { Role } from './users.ts'

/** An open, checked source. `chats()` reads the chats again on every call; close it when done. */
export type LibreWebUiSource = {
  users: SourceUser[]
  chatCount: number
  /** Rows of features Enclave does not import (documents, personas), by table. */
  leftBehind: Record<string, number>
  chats(): Generator<SourceChat>
  close(): void
}

export type OpenLibreResult =
  | { ok: true; source: LibreWebUiSource }
  | { ok: false; reason: 'not_a_database' | 'unknown_version' | 'malformed'; detail: string }
  | { ok: false; reason: 'unopened_values'; unopened: number; encrypted: number }

const requiredColumns: Record<string, string[]> = {
  users: ['id', 'username', 'email', 'password_hash', 'role', 'created_at'],
  sessions: ['id', 'user_id', 'title', 'created_at', 'updated_at'],
  session_messages: ['id', 'session_id', 'role', 'content', 'timestamp', 'message_index'],
}
const bcryptPattern = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/
const MAX_TEXT = CHAT_LIMITS.contentChars

/** One message of a linear conversation, as ChatContent lists them. */
type ListedMessage = Extract<NonNullable<ChatContent['messages']>, { kind: 'list' }>['messages'][number]

/**
 * Opens the source and reads all of it with the key (null: none given): refuses a file that is not
 * Libre WebUI's, a malformed row, or any sealed value the key does not open.
 */
export function openLibreWebUiDatabase(path: string, key: Uint8Array | null): OpenLibreResult {
  const opened = openSourceDatabase(path, requiredColumns, 'a Libre WebUI')
  if (!opened.ok) return opened
  const { db } = opened
  const refuse = (result: OpenLibreResult) => (db.close(), result)
  try {
    const reader = createReader(db, key)
    const users = reader.readUsers()
    const owners = new Set(users.map((user) => user.sourceId))
    let chatCount = 0
    for (const chat of reader.readChats(owners)) void chat, chatCount++ // note: this pass checks and counts; nothing is kept.
    if (reader.unopened > 0) return refuse({ ok: false, reason: 'unopened_values', unopened: reader.unopened, encrypted: reader.encrypted })
    const leftBehind = Object.fromEntries(['documents', 'personas'].map((table) => [table, countRows(db, table)]).filter(([, n]) => (n as number) > 0))
    return { ok: true, source: { users, chatCount, leftBehind, chats: () => reader.readChats(owners), close: () => db.close() } }
  } catch (error) {
    return refuse({ ok: false, reason: 'malformed', detail: error instanceof MalformedSourceError ? error.message : 'The database could not be read.' })
  }
}

function fail(detail: string): never {
  throw new MalformedSourceError(detail)
}

function countRows(db: Database, table: string): number {
  const exists = db.query<{ n: number }, [string]>("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?").get(table)!.n > 0
  return exists ? db.query<{ n: number }, []>(`SELECT count(*) AS n FROM ${table}`).get()!.n : 0
}

/** The row readers, with a count of the sealed values seen and of those the key did not open. */
function createReader(db: Database, key: Uint8Array | null) {
  const reader = {
    encrypted: 0,
    unopened: 0,

    /** Opens a stored value; an unopened one is counted and read as '' (the import is then refused). */
    open(stored: unknown, what: string, max = MAX_TEXT): string {
      if (typeof stored !== 'string') fail(`${what} is not text.`)
      if (looksEncrypted(stored)) reader.encrypted++
      const value = openLibreValue(stored, key)
      if (value.kind === 'unopened') {
        reader.unopened++
        return ''
      }
      if (value.text.length > max) fail(`${what} is longer than ${max} characters.`)
      return value.text
    },

    /** Opens a stored JSON value; null when the column is empty. */
    openJson(stored: unknown, what: string): unknown {
      if (stored === null || stored === undefined || stored === '') return null
      const text = reader.open(stored, what, Number.MAX_SAFE_INTEGER)
      if (text === '') return null
      try {
        return JSON.parse(text)
      } catch {
        fail(`${what} holds JSON that does not parse.`)
      }
    },

    readUsers(): SourceUser[] {
      const preferences = reader.readPreferences()
      const users: SourceUser[] = []
      for (const row of db.query<Record<string, unknown>, []>('SELECT id, username, email, password_hash, role, created_at FROM users ORDER BY created_at, id').iterate()) {
        const sourceId = plainText(row.id, 'users.id', 200)
        const username = plainText(row.username, `user ${sourceId} username`, 200)
        const email = row.email === null ? '' : reader.open(row.email, `user ${sourceId} email`, 320).trim()
        const hash = typeof row.password_hash === 'string' && bcryptPattern.test(row.password_hash) ? row.password_hash : null
        users.push({
          sourceId, id: enclaveIdFor('user', sourceId, 'libre-webui') as UserId,
          email: email.includes('@') ? email : madeUpEmail(username, sourceId), name: username || 'User',
          role: roleOf(row.role), createdAt: time(row.created_at, `user ${sourceId} created_at`), passwordHash: hash,
          ...(preferences.has(sourceId) ? { preferences: { libreWebui: preferences.get(sourceId)! } } : {}),
        })
      }
      return users
    },

    readPreferences(): Map<string, Record<string, unknown>> {
      const byUser = new Map<string, Record<string, unknown>>()
      if (countRows(db, 'user_preferences') === 0) return byUser
      for (const row of db.query<{ user_id: unknown; key: unknown; value: unknown }, []>('SELECT user_id, key, value FROM user_preferences').iterate()) {
        const owner = plainText(row.user_id, 'user_preferences.user_id', 200)
        const name = plainText(row.key, `a preference of ${owner}`, 200)
        const value = reader.openJson(row.value, `preference ${name} of ${owner}`)
        byUser.set(owner, { ...byUser.get(owner), [name]: value })
      }
      return byUser
    },

    *readChats(owners: Set<string>): Generator<SourceChat> {
      const sessions = db.prepare<Record<string, unknown>, []>('SELECT id, user_id, title, model, created_at, updated_at FROM sessions')
      const messages = db.prepare<Record<string, unknown>, [string]>(
        'SELECT id, role, content, timestamp, model, images, statistics, artifacts FROM session_messages WHERE session_id = ? ORDER BY message_index, rowid')
      try {
        for (const row of sessions.iterate()) {
          const sourceId = plainText(row.id, 'sessions.id', 200)
          const owner = plainText(row.user_id ?? 'default', `session ${sourceId} user_id`, 200)
          if (!owners.has(owner)) continue // note: sessions of deleted users have no account to go to.
          const list: ListedMessage[] = []
          const uids = new Set<string>()
          for (const message of messages.iterate(sourceId)) {
            if (list.length >= CHAT_LIMITS.messages) fail(`Session ${sourceId} has more than ${CHAT_LIMITS.messages} messages.`)
            const listed = reader.toMessage(message, sourceId)
            // note: an id seen twice in a chat (a copied row) would break the tree; the later one gets a new id.
            const uid = listed.uid !== null && !uids.has(listed.uid) ? listed.uid : null
            if (uid !== null) uids.add(uid)
            list.push({ ...listed, uid })
          }
          const model = typeof row.model === 'string' && row.model !== '' ? row.model.slice(0, CHAT_LIMITS.modelChars) : null
          yield {
            sourceId, id: enclaveIdFor('chat', sourceId, 'libre-webui') as ChatId, ownerSourceId: owner,
            title: reader.open(row.title, `session ${sourceId} title`, CHAT_LIMITS.titleChars).trim() || 'New Chat',
            createdAt: time(row.created_at, `session ${sourceId} created_at`), updatedAt: time(row.updated_at, `session ${sourceId} updated_at`),
            pinned: false, archived: false, messageCount: list.length,
            content: { ...(model === null ? {} : { settings: { models: [model] } }), messages: { kind: 'list', messages: list } },
          }
        }
      } finally {
        sessions.finalize()
        messages.finalize()
      }
    },

    /**
     * One message as the chat tree takes a linear conversation. Libre WebUI's statistics are
     * Ollama's (durations, token counts), which Open WebUI keeps as a message's `usage`; its
     * artifacts have no column of their own in a saved message, so they are kept, sealed, among
     * the message's other fields and given back to clients as `artifacts`.
     */
    toMessage(row: Record<string, unknown>, chatId: string): ListedMessage {
      const role = row.role
      if (role !== 'user' && role !== 'assistant' && role !== 'system') fail(`Session ${chatId} has a message with an unknown role.`)
      const images = reader.openJson(row.images, `an image list in session ${chatId}`)
      const usage = reader.openJson(row.statistics, `statistics in session ${chatId}`)
      const artifacts = reader.openJson(row.artifacts, `artifacts in session ${chatId}`)
      if (images !== null && !Array.isArray(images)) fail(`Session ${chatId} has images that are not a list.`)
      if (usage !== null && (typeof usage !== 'object' || Array.isArray(usage))) fail(`Session ${chatId} has statistics that are not an object.`)
      for (const [what, value] of [['statistics', usage], ['artifacts', artifacts]] as const) {
        if (value !== null && JSON.stringify(value).length > CHAT_LIMITS.jsonBytes) fail(`Session ${chatId} has ${what} over ${CHAT_LIMITS.jsonBytes} bytes.`)
      }
      return {
        uid: typeof row.id === 'string' && MESSAGE_UID_PATTERN.test(row.id) ? row.id : null,
        role: role as MessageRole,
        content: reader.open(row.content, `a message in session ${chatId}`, CHAT_LIMITS.contentChars),
        model: typeof row.model === 'string' && row.model !== '' ? row.model.slice(0, CHAT_LIMITS.modelChars) : null,
        images: images as unknown[] | null, usage, extra: artifacts === null ? null : { artifacts },
        createdAt: typeof row.timestamp === 'number' && Number.isFinite(row.timestamp) && row.timestamp >= 0 ? Math.floor(row.timestamp) : null,
      }
    },
  }
  return reader
}

function plainText(value: unknown, what: string, max: number): string {
  if (typeof value !== 'string' || value.length > max) fail(`${what} is not text of at most ${max} characters.`)
  return value.trim()
}

/** Libre WebUI stores times in unix ms. */
function time(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) fail(`${what} is not a time.`)
  return Math.floor(value)
}

function roleOf(role: unknown): Role {
  return role === 'admin' ? 'admin' : role === 'user' ? 'user' : 'pending'
}

/** Enclave signs in by email; a Libre WebUI account without one (its default `admin`) gets USERNAME@localhost. */
function madeUpEmail(username: string, sourceId: string): string {
  const local = /^[A-Za-z0-9._-]{1,64}$/.test(username) ? username : `user-${enclaveIdFor('user', sourceId, 'libre-webui').slice(0, 8)}`
  return `${local.toLowerCase()}@localhost`
}
