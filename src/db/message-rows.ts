/**
 * Message rows: how one message is sealed, stored and opened. Every sealed field's AAD binds the
 * message's id and its chat's id (`<chat id>/<message id>`), so a database writer who moves a row
 * to another chat of the same user (same data key) gets a row that refuses to open, never a
 * message served in the wrong conversation. Structure (parent, role, status, times, client id) is
 * plain, as queries need it.
 */
import type { Database } from 'bun:sqlite'
import type { ChatId, MessageId } from './ids.ts'
import type { Message, MessageRole, MessageStatus } from './chat-tree.ts'
import type { KeyRing } from './data-keys.ts'
import { sealedTable, type SealedFields } from './sealed-table.ts'

const messageColumns = {
  model: 'text', content: 'text', images: 'json', artifacts: 'json', stats: 'json',
  error: 'json', usage: 'json', sources: 'json', files: 'json', extra: 'json',
} as const
export const messageTable = sealedTable('message', messageColumns)

/** The row id a message's AAD binds: its chat's id and its own. */
export const messageRowId = (chatId: ChatId, id: MessageId | number): string => `${chatId}/${id}`

export type MessageRow = SealedFields<typeof messageColumns> & {
  id: number; uid: string; parent_id: number | null; role: MessageRole; status: MessageStatus | null; created_at: number
  content: Uint8Array
}

/** The plain, sealed-free part of a row: enough to walk a chat's tree without opening anything. */
export type MessageShape = { id: MessageId; uid: string; parentId: MessageId | null }

const SEALED_COLUMNS = 'model, content, images, artifacts, stats, error, usage, sources, files, extra'

/** Prepared statements for one chat's message rows; callers check ownership first. */
export function createMessageRows(db: Database) {
  const insert = db.query<void, [number, number, string, number | null, MessageRole, MessageStatus | null, ...(Uint8Array | null)[], number]>(
    `INSERT INTO message (id, chat_seq, uid, parent_id, role, status, ${SEALED_COLUMNS}, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const rewrite = db.query<void, [string, number | null, MessageRole, MessageStatus | null, ...(Uint8Array | null)[], number, number, number]>(
    `UPDATE message SET uid = ?, parent_id = ?, role = ?, status = ?, model = ?, content = ?, images = ?, artifacts = ?, stats = ?,
       error = ?, usage = ?, sources = ?, files = ?, extra = ?, created_at = ? WHERE id = ? AND chat_seq = ?`)
  const selectRows = db.query<MessageRow, [number]>(
    `SELECT id, uid, parent_id, role, status, ${SEALED_COLUMNS}, created_at FROM message WHERE chat_seq = ? ORDER BY id`)
  const selectRow = db.query<MessageRow, [number, number]>(
    `SELECT id, uid, parent_id, role, status, ${SEALED_COLUMNS}, created_at FROM message WHERE id = ? AND chat_seq = ?`)
  const selectShapes = db.query<{ id: number; uid: string; parent_id: number | null }, [number]>(
    'SELECT id, uid, parent_id FROM message WHERE chat_seq = ? ORDER BY id')
  const selectId = db.query<{ id: number }, [number, number]>('SELECT id FROM message WHERE id = ? AND chat_seq = ?')
  const selectUid = db.query<{ id: number }, [number, string]>('SELECT id FROM message WHERE chat_seq = ? AND uid = ?')
  const deleteRow = db.query<void, [number, number]>('DELETE FROM message WHERE id = ? AND chat_seq = ?')

  const sealedValues = (chatId: ChatId, message: Message, ring: KeyRing): (Uint8Array | null)[] => {
    const sealed = messageTable.seal(messageRowId(chatId, message.id), message, ring)
    return [sealed.model, sealed.content, sealed.images, sealed.artifacts, sealed.stats, sealed.error, sealed.usage, sealed.sources, sealed.files, sealed.extra]
  }

  return {
    /** Seals and inserts one message into the chat row `chatSeq`. */
    insert(chatSeq: number, message: Message, ring: KeyRing): void {
      insert.run(message.id, chatSeq, message.uid, message.parentId, message.role, message.status, ...sealedValues(message.chatId, message, ring), message.createdAt)
    },
    /** Seals and writes every field of a stored message. */
    rewrite(chatSeq: number, message: Message, ring: KeyRing): void {
      rewrite.run(message.uid, message.parentId, message.role, message.status, ...sealedValues(message.chatId, message, ring), message.createdAt, message.id, chatSeq)
    },
    /** Opens every message of the chat, in id order. */
    list(chatSeq: number, chatId: ChatId, ring: KeyRing): Message[] {
      return selectRows.all(chatSeq).map((row) => openMessage(chatId, row, ring))
    },
    /** Opens one message of the chat; null when the chat has none with that id. */
    find(chatSeq: number, chatId: ChatId, id: MessageId, ring: KeyRing): Message | null {
      const row = selectRow.get(id, chatSeq)
      return row === null ? null : openMessage(chatId, row, ring)
    },
    /** The chat's tree without opening anything. */
    shapes(chatSeq: number): MessageShape[] {
      return selectShapes.all(chatSeq).map((row) => ({ id: row.id as MessageId, uid: row.uid, parentId: row.parent_id as MessageId | null }))
    },
    /** Says whether the chat holds the message `id`. */
    has(chatSeq: number, id: MessageId): boolean {
      return selectId.get(id, chatSeq) !== null
    },
    /** The internal id of the chat's message with the client id `uid`, or null. */
    idOfUid(chatSeq: number, uid: string): MessageId | null {
      return (selectUid.get(chatSeq, uid)?.id ?? null) as MessageId | null
    },
    remove(chatSeq: number, id: MessageId): void {
      deleteRow.run(id, chatSeq)
    },
  }
}

export type MessageRows = ReturnType<typeof createMessageRows>

/** Opens a stored row into a message; throws FieldOpenError when a field does not open here. */
export function openMessage(chatId: ChatId, row: MessageRow, ring: KeyRing): Message {
  const plain = messageTable.open(messageRowId(chatId, row.id), row, ring)
  return {
    id: row.id as MessageId, uid: row.uid, chatId, parentId: row.parent_id as MessageId | null, role: row.role,
    model: plain.model, content: plain.content!, images: plain.images as unknown[] | null, artifacts: plain.artifacts,
    stats: plain.stats as Record<string, unknown> | null, status: row.status, error: plain.error, usage: plain.usage,
    sources: plain.sources, files: plain.files, extra: plain.extra as Record<string, unknown> | null, createdAt: row.created_at,
  }
}
