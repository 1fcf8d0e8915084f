/**
 * Message rows: how one message is sealed, stored and opened. Everything sensitive of a message is
 * sealed as ONE value in its `content` column, so opening a chat costs one decryption per message:
 *
 *   plaintext   UTF-8 of: its other fields as a JSON object (model, images, artifacts, stats, error,
 *               usage, sources, files, extra; only those not null), or nothing when it has none;
 *               then a line feed (JSON text never holds a raw one); then its content
 *
 * The AAD binds the message's id and its chat's id (`<chat id>/<message id>`), column and key
 * version, so a database writer who moves a row to another chat of the same user (same data key)
 * gets a row that refuses to open, never a message served in the wrong conversation. Structure
 * (parent, role, status, times, client id) is plain, as queries need it.
 *
 * A row also holds a digest of what its client sees (`digest`: key version, then the first 16 bytes
 * of an HMAC-SHA-256 under a key derived from the owner's data key, over the row id and the sealed
 * fields), so a whole-chat save can tell which messages changed without opening each one. Without
 * the data key it confirms no guess, and, binding the row id, it does not show two rows alike.
 */
import { createHmac } from 'node:crypto'
import { openField, sealedKeyVersion, sealField, type VersionedKey } from '../crypto/field-cipher.ts'
import type { ChatId, MessageId } from './ids.ts'
import type { Message, MessageRole, MessageStatus } from './chat-tree.ts'
import type { KeyRing } from './data-keys.ts'
import type { SqlEngine, SqlValue } from './engine.ts'
import { FieldOpenError } from './field-open-error.ts'

const INSERT_ONE = 'INSERT INTO message (id, chat_seq, uid, parent_id, role, status, content, digest, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)'

/** The row id a message's AAD binds: its chat's id and its own. */
export const messageRowId = (chatId: ChatId, id: MessageId | number): string => `${chatId}/${id}`

export type MessageRow = {
  id: number; uid: string; parent_id: number | null; role: MessageRole; status: MessageStatus | null; created_at: number
  content: Uint8Array
}

/** The plain, sealed-free part of a row: enough to walk a chat's tree without opening anything. */
export type MessageShape = { id: MessageId; uid: string; parentId: MessageId | null }

/** A stored message without its sealed fields, and the digest of them. */
export type StoredMessage = MessageShape & Pick<Message, 'role' | 'status' | 'createdAt'> & { digest: Uint8Array | null }

/** A message's sealed fields besides its content, as the sealed value's JSON holds them (null ones left out). */
export type OtherFields = Partial<Pick<Message, 'model' | 'images' | 'artifacts' | 'stats' | 'error' | 'usage' | 'sources' | 'files' | 'extra'>>

const SEALED_COLUMN = 'content'
// note: ignoreBOM, so a leading U+FEFF is text like any other. A default TextDecoder drops one at the
// start of what it decodes; a sealed body starts with `{` or the line feed, never with the content, so
// the content's own never reached that start (message-text-bom.test.ts checks any text round-trips),
// and decoding no longer depends on it. 1 KB bodies decoded in the same time either way (100 against
// 107 ns ASCII, 576 against 579 ns mixed, median of 6 rounds of 200,000, process CPU), Buffer's
// toString in 110 and 585 ns.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true })

/** Seals a message's content and other fields as its row's one sealed value, under `key`. */
export function sealMessageBody(key: VersionedKey, rowId: string, content: string, fields: OtherFields): Uint8Array {
  let header = ''
  for (const name in fields) {
    if (fields[name as keyof OtherFields] != null) {
      header = JSON.stringify(fields)
      break
    }
  }
  return sealField(key, `${header}\n${content}`, { table: 'message', column: SEALED_COLUMN, rowId })
}

/**
 * Opens a row's sealed value into its text and where the content starts (after the first line
 * feed); throws FieldOpenError when it does not open here. Decoded whole and split as text, which
 * costs less than decoding two views of the bytes.
 */
function openBody(rowId: string, sealed: Uint8Array, ring: KeyRing): { text: string; split: number } {
  const version = sealedKeyVersion(sealed)
  const key = version === null ? null : ring.byVersion(version)
  const bytes = key === null ? null : openField(key, copyOfSealed(sealed), { table: 'message', column: SEALED_COLUMN, rowId })
  const text = bytes === null ? '' : utf8.decode(bytes)
  const split = text.indexOf('\n')
  if (split < 0) throw new FieldOpenError('message', SEALED_COLUMN, rowId)
  return { text, split }
}

// note: a sealed value read from SQLite is copied into one array made once, and openField views that
// copy: the first view of an array SQLite returned (openField's ciphertext) makes its buffer, which
// costs more than copying 1 KB; reading a 1,000-message chat took 8-10% less CPU (6 interleaved rounds).
// openField is synchronous and its plaintext is a new buffer, so the copy is never read after it returns.
const sealedCopy = new Uint8Array(64 * 1024)

/** The sealed value as a view of the reused copy (the value itself when larger). */
function copyOfSealed(sealed: Uint8Array): Uint8Array {
  if (sealed.length > sealedCopy.length) return sealed
  sealedCopy.set(sealed)
  return sealedCopy.subarray(0, sealed.length)
}

/** Opens only the content of a row's sealed value. */
function openContent(rowId: string, sealed: Uint8Array, ring: KeyRing): string {
  const { text, split } = openBody(rowId, sealed, ring)
  return text.slice(split + 1)
}

const DIGEST_BYTES = 16
const digestKeys = new WeakMap<VersionedKey, Buffer>()

/** The digest key for a data key: derived once, so the data key itself never keys two things. */
function digestKeyOf(key: VersionedKey): Buffer {
  let derived = digestKeys.get(key)
  if (derived === undefined) digestKeys.set(key, derived = createHmac('sha256', key.key).update('enclave/message-digest/v1').digest())
  return derived
}

/** The data key a stored row's digest was made under, when it has one and that key is at hand. */
function keyOfDigest(stored: StoredMessage, ring: KeyRing): VersionedKey | null {
  if (stored.digest === null || stored.digest.length !== 4 + DIGEST_BYTES) return null
  // note: read byte by byte: a row's Uint8Array has no ArrayBuffer until asked for one, which costs an allocation and a copy.
  const digest = stored.digest
  return ring.byVersion(((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0)
}

const digestHashers = new WeakMap<VersionedKey, Bun.CryptoHasher>()

/** Digests what a client sees of a message (its sealed fields) for the row `rowId`, under `key`. */
export function digestOf(rowId: string, message: Message, key: VersionedKey): Uint8Array {
  const { model, content, images, error, usage, sources, files, extra } = message
  let keyed = digestHashers.get(key)
  if (keyed === undefined) digestHashers.set(key, keyed = new Bun.CryptoHasher('sha256', digestKeyOf(key)))
  // note: HMAC-SHA-256 as createHmac made it (message-rows.test.ts checks the two agree); a copy of the keyed state costs 1.1 µs a 1 KB message against 2.5 µs for createHmac, which keys it afresh.
  keyed.copy().update(rowId).update('\0').update(JSON.stringify([model, content, images, error, usage, sources, files, extra])).digest(macScratch)
  // note: the MAC is written into an array made once and its bytes copied one by one, the version too: a
  // Buffer per digest, its subarray and a DataView over the row's array (which then needs an ArrayBuffer
  // of its own) took 7% of an append's samples under load, and 2 µs of its CPU (docs/performance.md, "An append's allocations").
  const digest = new Uint8Array(4 + DIGEST_BYTES)
  const { version } = key
  digest[0] = version >>> 24
  digest[1] = version >>> 16
  digest[2] = version >>> 8
  digest[3] = version
  for (let i = 0; i < DIGEST_BYTES; i++) digest[4 + i] = macScratch[i]!
  return digest
}

// note: Bun's CryptoHasher.digest(into) asks for at least 64 bytes; SHA-256 writes the first 32. Reused: digestOf is synchronous.
const macScratch = new Uint8Array(64)

const sameJson = (a: unknown, b: unknown) => a === b || JSON.stringify(a) === JSON.stringify(b)

/** Says whether two messages have the same fields a client sees and saves (all sealed ones but stats and artifacts). */
export function hasSameClientFields(old: Message, next: Message): boolean {
  return old.content === next.content && old.model === next.model && sameJson(old.images, next.images) && sameJson(old.error, next.error)
    && sameJson(old.usage, next.usage) && sameJson(old.sources, next.sources) && sameJson(old.files, next.files) && sameJson(old.extra, next.extra)
}

/** A message's sealed fields besides content, the null ones left out. */
function otherFieldsOf({ model, images, artifacts, stats, error, usage, sources, files, extra }: Message): OtherFields {
  const fields: OtherFields = {}
  if (model !== null) fields.model = model
  if (images !== null) fields.images = images
  if (artifacts !== null) fields.artifacts = artifacts
  if (stats !== null) fields.stats = stats
  if (error !== null) fields.error = error
  if (usage !== null) fields.usage = usage
  if (sources !== null) fields.sources = sources
  if (files !== null) fields.files = files
  if (extra !== null) fields.extra = extra
  return fields
}

type StoredRow = { id: number; uid: string; parent_id: number | null; role: MessageRole; status: MessageStatus | null; created_at: number; digest: Uint8Array | null }

const ROW_COLUMNS = 'id, uid, parent_id, role, status, content, created_at'

/** How many sealed rows one page of an owner's contents reads. */
const CONTENT_PAGE_ROWS = 2000

/**
 * How many rows one INSERT of insertMany carries: 9 values a row keeps a statement well under
 * SQLite's (32,766) and PostgreSQL's (65,535) limits on bound values, and few statement texts exist.
 */
const INSERT_BATCH_ROWS = 100
const INSERT_ROW = '(?, ?, ?, ?, ?, ?, ?, ?, ?)'

/** One chat's message rows on the engine; callers check ownership first. */
export function createMessageRows(sql: SqlEngine) {
  /** The sealed value and the digest, in the order the statements name them. */
  const sealedValues = (chatId: ChatId, message: Message, ring: KeyRing): [Uint8Array, Uint8Array] => {
    const rowId = messageRowId(chatId, message.id)
    return [sealMessageBody(ring.current, rowId, message.content, otherFieldsOf(message)), digestOf(rowId, message, ring.current)]
  }
  /**
   * A chat's rows in id order (one parameter, the chat's seq). The chat's rows are found along
   * message_uid_in_chat (schema 14 dropped the (chat_seq, id) index), which holds them by client id.
   * note: on SQLite the ids are taken from that index into a list kept in order and the rows read by
   * id along it, so nothing is sorted: a 1,000-message chat of 1 KB rows in 1.68-2.16 ms against
   * 1.77-2.28 ms for the same read along the dropped index and 2.78-3.70 ms for a sort of the rows
   * (bun:sqlite, one process, alternated). PostgreSQL sorts the chat's rows as its planner sees fit.
   */
  const inIdOrder = (columns: string): string => sql.dialect === 'sqlite'
    ? `SELECT ${columns} FROM message WHERE id IN (SELECT id FROM message WHERE chat_seq = ?) ORDER BY id`
    : `SELECT ${columns} FROM message WHERE chat_seq = ? ORDER BY id`
  const find = async (chatSeq: number, chatId: ChatId, id: MessageId, ring: KeyRing): Promise<Message | null> => {
    const row = await sql.get<MessageRow>(`SELECT ${ROW_COLUMNS} FROM message WHERE id = ? AND chat_seq = ?`, id, chatSeq)
    return row === null ? null : openMessage(chatId, messageRowId(chatId, row.id), row, ring)
  }

  return {
    /**
     * Readies a message's insert (chats-ready.ts): prepares its statement and seals a question under
     * `ring` (a throwaway key), its digest too. Writes nothing.
     */
    ready(ring: KeyRing): void {
      sql.prepare([INSERT_ONE])
      const question: Message = {
        id: 1 as MessageId, uid: '1', chatId: 'ready' as ChatId, parentId: null, role: 'user', model: null, content: 'A question.', images: null, artifacts: null,
        stats: null, status: null, error: null, usage: null, sources: null, files: null, extra: null, createdAt: 0,
      }
      sealedValues(question.chatId, question, ring)
    },
    /** Seals and inserts one message into the chat row `chatSeq`. */
    async insert(chatSeq: number, message: Message, ring: KeyRing): Promise<void> {
      await sql.run(INSERT_ONE, message.id, chatSeq, message.uid, message.parentId, message.role, message.status, ...sealedValues(message.chatId, message, ring), message.createdAt)
    },
    /**
     * Seals and inserts messages into the chat row `chatSeq`, in order, up to INSERT_BATCH_ROWS a
     * statement: one round trip for a whole chat of usual length instead of one a message.
     */
    async insertMany(chatSeq: number, messages: readonly Message[], ring: KeyRing): Promise<void> {
      for (let start = 0; start < messages.length; start += INSERT_BATCH_ROWS) {
        const batch = messages.slice(start, start + INSERT_BATCH_ROWS)
        const values: SqlValue[] = []
        for (const message of batch) {
          values.push(message.id, chatSeq, message.uid, message.parentId, message.role, message.status, ...sealedValues(message.chatId, message, ring), message.createdAt)
        }
        await sql.run(`INSERT INTO message (id, chat_seq, uid, parent_id, role, status, content, digest, created_at) VALUES ${batch.map(() => INSERT_ROW).join(', ')}`, ...values)
      }
    },
    /** Seals and writes every field of a stored message. */
    async rewrite(chatSeq: number, message: Message, ring: KeyRing): Promise<void> {
      await sql.run('UPDATE message SET uid = ?, parent_id = ?, role = ?, status = ?, content = ?, digest = ?, created_at = ? WHERE id = ? AND chat_seq = ?',
        message.uid, message.parentId, message.role, message.status, ...sealedValues(message.chatId, message, ring), message.createdAt, message.id, chatSeq)
    },
    /** Opens every message of the chat, in id order. */
    async list(chatSeq: number, chatId: ChatId, ring: KeyRing): Promise<Message[]> {
      const prefix = `${chatId}/`
      const found = await sql.all<MessageRow>(inIdOrder(ROW_COLUMNS), chatSeq)
      return found.map((row) => openMessage(chatId, prefix + row.id, row, ring))
    },
    /** Opens one message of the chat; null when the chat has none with that id. */
    find,
    /** The chat's messages without their sealed fields: for a save to compare against without opening them. */
    async listStored(chatSeq: number): Promise<StoredMessage[]> {
      const found = await sql.all<StoredRow>(inIdOrder('id, uid, parent_id, role, status, created_at, digest'), chatSeq)
      return found.map((row) => ({
        id: row.id as MessageId, uid: row.uid, parentId: row.parent_id as MessageId | null, role: row.role, status: row.status, createdAt: row.created_at, digest: row.digest,
      }))
    },
    /** Says whether the stored row's digest can be compared here: it has one, under a key version still at hand (else open the row). */
    canCompareByDigest(stored: StoredMessage, ring: KeyRing): boolean {
      return keyOfDigest(stored, ring) !== null
    },
    /** Says whether `next` has the sealed fields of the stored row, by its digest; only when canCompareByDigest. */
    sameContentByDigest(chatId: ChatId, stored: StoredMessage, next: Message, ring: KeyRing): boolean {
      const key = keyOfDigest(stored, ring)
      return key !== null && Buffer.from(digestOf(messageRowId(chatId, stored.id), next, key)).equals(stored.digest!)
    },
    /** The chat's tree without opening anything. */
    async shapes(chatSeq: number): Promise<MessageShape[]> {
      const found = await sql.all<{ id: number; uid: string; parent_id: number | null }>(inIdOrder('id, uid, parent_id'), chatSeq)
      return found.map((row) => ({ id: row.id as MessageId, uid: row.uid, parentId: row.parent_id as MessageId | null }))
    },
    /** Says whether the chat holds the message `id`. */
    async has(chatSeq: number, id: MessageId): Promise<boolean> {
      return (await sql.get('SELECT id FROM message WHERE id = ? AND chat_seq = ?', id, chatSeq)) !== null
    },
    /** The internal id of the chat's message with the client id `uid`, or null. */
    async idOfUid(chatSeq: number, uid: string): Promise<MessageId | null> {
      return ((await sql.get<{ id: number }>('SELECT id FROM message WHERE chat_seq = ? AND uid = ?', chatSeq, uid))?.id ?? null) as MessageId | null
    },
    /** Opens the content of every message of the chat (every branch), for search. */
    async contentsOf(chatSeq: number, chatId: ChatId, ring: KeyRing): Promise<string[]> {
      const found = await sql.all<{ id: number; content: Uint8Array }>('SELECT id, content FROM message WHERE chat_seq = ?', chatSeq)
      return found.map((row) => openContent(messageRowId(chatId, row.id), row.content, ring))
    },
    /** Opens the content of every message of every chat of the owner, by chat seq, for search; read in pages, so no statement holds them all. */
    async contentsOfOwner(owner: string, ring: KeyRing): Promise<Map<number, string[]>> {
      const contents = new Map<number, string[]>()
      let after = { seq: -1, id: -1 }
      for (;;) {
        // note: keyset paging on (chat_seq, id), each chat's rows found along message_uid_in_chat and the page sorted (as it was
        // along the dropped (chat_seq, id) index: the owner's chats are not read in seq order); both engines have no row stream on the contract.
        const found = await sql.all<{ chat_seq: number; chat_id: string; id: number; content: Uint8Array }>(
          `SELECT m.chat_seq, c.id AS chat_id, m.id, m.content FROM chat c JOIN message m ON m.chat_seq = c.seq
           WHERE c.user_id = ? AND (m.chat_seq > ? OR (m.chat_seq = ? AND m.id > ?)) ORDER BY m.chat_seq, m.id LIMIT ?`,
          owner, after.seq, after.seq, after.id, CONTENT_PAGE_ROWS)
        for (const row of found) {
          const content = openContent(messageRowId(row.chat_id as ChatId, row.id), row.content, ring)
          const list = contents.get(row.chat_seq)
          if (list === undefined) contents.set(row.chat_seq, [content])
          else list.push(content)
        }
        if (found.length < CONTENT_PAGE_ROWS) return contents
        const last = found.at(-1)!
        after = { seq: last.chat_seq, id: last.id }
      }
    },
    async remove(chatSeq: number, id: MessageId): Promise<void> {
      await sql.run('DELETE FROM message WHERE id = ? AND chat_seq = ?', id, chatSeq)
    },
    /** Moves the children of `fromParentId` under `toParentId` (null: they become roots); the parent is plain, outside the sealed value and its digest. */
    async moveChildren(chatSeq: number, fromParentId: MessageId, toParentId: MessageId | null): Promise<void> {
      await sql.run('UPDATE message SET parent_id = ? WHERE chat_seq = ? AND parent_id = ?', toParentId, chatSeq, fromParentId)
    },
  }
}

export type MessageRows = ReturnType<typeof createMessageRows>

/** Opens a stored row into a message; throws FieldOpenError when its sealed value does not open here. */
function openMessage(chatId: ChatId, rowId: string, row: MessageRow, ring: KeyRing): Message {
  const { text, split } = openBody(rowId, row.content, ring)
  const fields: OtherFields = split === 0 ? {} : JSON.parse(text.slice(0, split))
  return {
    id: row.id as MessageId, uid: row.uid, chatId, parentId: row.parent_id as MessageId | null, role: row.role,
    model: fields.model ?? null, content: text.slice(split + 1), images: fields.images ?? null, artifacts: fields.artifacts ?? null,
    stats: fields.stats ?? null, status: row.status, error: fields.error ?? null, usage: fields.usage ?? null,
    sources: fields.sources ?? null, files: fields.files ?? null, extra: fields.extra ?? null, createdAt: row.created_at,
  }
}
