/**
 * Reads an Open WebUI database (webui.db, SQLite) read-only into validated plain records: users
 * (table `user`), their password hashes (table `auth`, bcrypt) and chats (table `chat`, whose `chat`
 * column is JSON with `history.messages` keyed by message id and `history.currentId` naming the
 * last message of the branch shown). Everything is checked before anything is imported, so a
 * malformed or unknown-version file is refused whole.
 *
 * Memory: a webui.db can hold gigabytes of chats. Users are few and read at once; chats are read
 * one row at a time from a statement iterator, once to check them all and once more to import
 * them, so no more than one chat is ever held (a 225 MB file used to take 921 MB).
 */
import type { Database } from 'bun:sqlite'
import { createHash } from 'node:crypto'
import type { ChatContent } from './chat-tree.ts'
import type { ChatId, UserId } from './ids.ts'
import { readOpenWebUiChat } from './open-webui-chat.ts'
import { openSourceDatabase } from './source-database.ts'
import type { Role } from './users.ts'

export type SourceUser = { sourceId: string; id: UserId; email: string; name: string; role: Role; createdAt: number; passwordHash: string | null; preferences?: Record<string, unknown> }
export type SourceChat = { sourceId: string; id: ChatId; ownerSourceId: string; title: string; createdAt: number; updatedAt: number; pinned: boolean; archived: boolean; content: ChatContent; messageCount: number }

/** An open, checked source: its users, and its chats read again on every call. Close it when done. */
export type OpenWebUiSource = {
  users: SourceUser[]
  /** Yields the chats of the users above one at a time, in table order; throws MalformedSourceError if the file changed since it was checked. */
  chats(): Generator<SourceChat>
  close(): void
}

export type ReadSourceResult =
  | { ok: true; source: OpenWebUiSource }
  | { ok: false; reason: 'not_a_database' | 'unknown_version' | 'malformed'; detail: string }

/** The columns this importer reads; a database without them is from a version it does not know. */
const requiredColumns: Record<string, string[]> = {
  user: ['id', 'name', 'email', 'role', 'created_at'],
  auth: ['id', 'email', 'password', 'active'],
  chat: ['id', 'user_id', 'title', 'chat', 'created_at', 'updated_at'],
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const bcryptPattern = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/

/** Enclave's id for another product's id: the same when it is a UUID, else a UUID derived from it, so re-imports find it. */
export function enclaveIdFor(kind: 'user' | 'chat', sourceId: string, product: 'open-webui' | 'libre-webui' = 'open-webui'): string {
  if (uuidPattern.test(sourceId)) return sourceId
  const hex = createHash('sha256').update(`${product}/${kind}/${sourceId}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

/** Opens the source and checks all of it, chat by chat; refuses with the first problem found. */
export function openOpenWebUiDatabase(path: string): ReadSourceResult {
  const opened = openSourceDatabase(path, requiredColumns, 'an Open WebUI')
  if (!opened.ok) return opened
  const { db } = opened
  try {
    const users = readUsers(db)
    const owners = new Set(users.map((user) => user.sourceId))
    for (const chat of readChats(db, owners)) void chat // note: this first pass only checks; nothing is kept.
    return { ok: true, source: { users, chats: () => readChats(db, owners), close: () => db.close() } }
  } catch (error) {
    return refuse(db, 'malformed', error instanceof MalformedSourceError ? error.message : 'The database could not be read.')
  }
}

function refuse(db: Database, reason: 'unknown_version' | 'malformed', detail: string): ReadSourceResult {
  db.close()
  return { ok: false, reason, detail }
}

/** A source row that is not what Open WebUI writes; the message names the row, never its content. */
export class MalformedSourceError extends Error {}

function fail(detail: string): never {
  throw new MalformedSourceError(detail)
}

function readUsers(db: Database): SourceUser[] {
  const hashes = new Map<string, { password: unknown; active: unknown }>()
  for (const row of db.query<{ id: unknown; password: unknown; active: unknown }, []>('SELECT id, password, active FROM auth').iterate()) hashes.set(String(row.id), row)
  const users: SourceUser[] = []
  const seen = new Set<string>()
  for (const row of db.query<Record<string, unknown>, []>('SELECT id, name, email, role, created_at FROM user ORDER BY created_at, id').iterate()) {
    const sourceId = text(row.id, 'user.id', 200)
    if (seen.has(sourceId)) fail(`User id ${JSON.stringify(sourceId)} appears twice.`)
    seen.add(sourceId)
    const email = text(row.email, `user ${sourceId} email`, 320)
    if (!email.includes('@')) fail(`User ${sourceId} has no valid email.`)
    const role = row.role
    if (role !== 'admin' && role !== 'user' && role !== 'pending') fail(`User ${sourceId} has an unknown role.`)
    const auth = hashes.get(sourceId)
    const hash = typeof auth?.password === 'string' && bcryptPattern.test(auth.password) ? auth.password : null
    const active = auth === undefined || auth.active === 1 || auth.active === true || auth.active === '1'
    users.push({
      sourceId, id: enclaveIdFor('user', sourceId) as UserId, email, name: text(row.name ?? email, `user ${sourceId} name`, 200) || email,
      role: active ? role : 'pending', createdAt: seconds(row.created_at, `user ${sourceId} created_at`), passwordHash: hash,
    })
  }
  return users
}

/** Yields the chats owned by `owners`, one row at a time in table (rowid) order, so no sort holds the table. */
function* readChats(db: Database, owners: Set<string>): Generator<SourceChat> {
  const chatColumns = new Set(db.query<{ name: string }, []>("SELECT name FROM pragma_table_info('chat')").all().map((row) => row.name))
  const optional = (column: string) => (chatColumns.has(column) ? column : `0 AS ${column}`)
  const statement = db.prepare<Record<string, unknown>, []>(`SELECT id, user_id, title, chat, created_at, updated_at, ${optional('pinned')}, ${optional('archived')} FROM chat`)
  try {
    for (const row of statement.iterate()) {
      const sourceId = text(row.id, 'chat.id', 200)
      const owner = text(row.user_id, `chat ${sourceId} user_id`, 200)
      if (!owners.has(owner)) continue // note: Open WebUI keeps chats of deleted users and shared copies under synthetic owners; they have no account to go to.
      yield {
        sourceId, id: enclaveIdFor('chat', sourceId) as ChatId, ownerSourceId: owner,
        title: text(row.title ?? 'New Chat', `chat ${sourceId} title`, 1000) || 'New Chat',
        createdAt: seconds(row.created_at, `chat ${sourceId} created_at`), updatedAt: seconds(row.updated_at, `chat ${sourceId} updated_at`),
        pinned: row.pinned === 1 || row.pinned === true, archived: row.archived === 1 || row.archived === true,
        ...contentOf(row.chat, sourceId),
      }
    }
  } finally {
    statement.finalize()
  }
}

function text(value: unknown, what: string, max: number): string {
  if (typeof value !== 'string' || value.length > max) fail(`${what} is not text of at most ${max} characters.`)
  return value.trim()
}

/** Open WebUI stores times in seconds (older rows sometimes in nanoseconds); returns unix ms. */
function seconds(value: unknown, what: string): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) fail(`${what} is not a time.`)
  if (n > 1e17) return Math.floor(n / 1e6)
  if (n > 1e11) return Math.floor(n)
  return Math.floor(n * 1000)
}

/** Older Open WebUI versions left some message contents empty or not text: kept as '' or as their JSON, as before. */
function withTextContent(chat: unknown): unknown {
  const text = (message: unknown) => {
    if (typeof message !== 'object' || message === null || typeof (message as { content?: unknown }).content === 'string') return message
    const { content } = message as { content?: unknown }
    return { ...message, content: content === undefined || content === null ? '' : JSON.stringify(content) }
  }
  if (typeof chat !== 'object' || chat === null) return chat
  const { history, messages } = chat as { history?: { messages?: unknown }; messages?: unknown }
  const map = history?.messages
  return {
    ...chat,
    ...(typeof map === 'object' && map !== null ? { history: { ...history, messages: Object.fromEntries(Object.entries(map).map(([id, message]) => [id, text(message)])) } } : {}),
    ...(Array.isArray(messages) ? { messages: messages.map(text) } : {}),
  }
}

/** The chat as Open WebUI holds it: every branch, ids, the selected leaf, models, params and system prompt. */
function contentOf(raw: unknown, chatId: string): { content: ChatContent; messageCount: number } {
  let chat: unknown
  try {
    chat = typeof raw === 'string' ? JSON.parse(raw) : raw
  } catch {
    fail(`Chat ${chatId} holds JSON that does not parse.`)
  }
  const read = readOpenWebUiChat(withTextContent(chat))
  if (!read.ok) return fail(`Chat ${chatId}: ${read.detail}`)
  // note: the row's title is the one Open WebUI lists; the copy inside the JSON may be stale.
  const { title: _, ...content } = read.content
  return { content, messageCount: content.messages?.messages.length ?? 0 }
}
