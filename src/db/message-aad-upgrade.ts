/**
 * Finishes schema 6 for messages written before it: they were sealed field by field with their own
 * id alone as AAD, and are re-sealed as one value with the chat's id in its AAD (message-rows.ts).
 * Migrations are SQL and run before the keys are at hand (a restore migrates a backup it cannot
 * open), so schema 6 only records the highest such id in meta, keeping each old content in its row
 * and the other old fields in message_legacy; the store calls this at start, holding the keys, and
 * it re-seals them all in one transaction, empties message_legacy, then forgets the mark. Reads
 * never accept the old AAD: until this has run, such a message does not open at all.
 */
import type { Database } from 'bun:sqlite'
import { openField, sealedKeyVersion, type VersionedKey } from '../crypto/field-cipher.ts'
import type { DataKeyRepo, KeyRing } from './data-keys.ts'
import { FieldOpenError } from './field-open-error.ts'
import { messageRowId, sealMessageBody } from './message-rows.ts'
import type { ChatId } from './ids.ts'

const MARK = 'message_legacy_aad_up_to'
const BATCH = 500
/** The columns besides content that existed before schema 6, kept in message_legacy. */
const LEGACY_COLUMNS = ['model', 'images', 'artifacts', 'stats'] as const

type LegacyRow = { id: number; chat_id: string; user_id: string; content: Uint8Array } & Record<(typeof LEGACY_COLUMNS)[number], Uint8Array | null>

/** The highest message id still sealed the old way, or null when none is (the store has started since schema 6). */
export function readLegacyMessageMark(db: Database): number | null {
  return db.query<{ value: number }, [string]>('SELECT value FROM meta WHERE name = ?').get(MARK)?.value ?? null
}

/** Re-seals the messages schema 6 marked, if any; returns how many rows were rewritten. */
export function resealLegacyMessages(db: Database, dataKeys: DataKeyRepo): number {
  const upTo = readLegacyMessageMark(db)
  if (upTo === null) return 0
  return db.transaction(() => {
    // note: read in batches by id, so no statement is reading the rows it rewrites.
    const batch = db.query<LegacyRow, [number, number]>(
      `SELECT m.id, c.id AS chat_id, c.user_id, m.content, ${LEGACY_COLUMNS.map((column) => `l.${column}`).join(', ')}
       FROM message m JOIN chat c ON c.seq = m.chat_seq LEFT JOIN message_legacy l ON l.id = m.id
       WHERE m.id > ? AND m.id <= ? ORDER BY m.id LIMIT ${BATCH}`)
    const update = db.query<void, [Uint8Array, number]>('UPDATE message SET content = ? WHERE id = ?')
    const rings = new Map<string, KeyRing>()
    let count = 0
    for (let rows = batch.all(0, upTo); rows.length > 0; rows = batch.all(rows.at(-1)!.id, upTo)) {
      for (const row of rows) {
        let ring = rings.get(row.user_id)
        if (ring === undefined) rings.set(row.user_id, ring = dataKeys.keysForOwner(row.user_id))
        update.run(reseal(row, ring), row.id)
      }
      count += rows.length
    }
    db.run('DELETE FROM message_legacy')
    db.query('DELETE FROM meta WHERE name = ?').run(MARK)
    return count
  }).immediate()
}

/** Opens one old value sealed under the message's id alone; null stays null. */
export function openLegacyField(sealed: Uint8Array | null, column: string, id: number, ring: KeyRing): { key: VersionedKey; text: string } | null {
  if (sealed === null) return null
  const version = sealedKeyVersion(sealed)
  const key = version === null ? null : ring.byVersion(version)
  const plain = key === null ? null : openField(key, sealed, { table: 'message', column, rowId: String(id) })
  if (key === null || plain === null) throw new FieldOpenError('message', column, String(id))
  return { key, text: plain.toString('utf8') }
}

function reseal(row: LegacyRow, ring: KeyRing): Uint8Array {
  const content = openLegacyField(row.content, 'content', row.id, ring)!
  const json = (column: 'images' | 'artifacts' | 'stats') => {
    const opened = openLegacyField(row[column], column, row.id, ring)
    return opened === null ? undefined : JSON.parse(opened.text)
  }
  const fields = { model: openLegacyField(row.model, 'model', row.id, ring)?.text, images: json('images'), artifacts: json('artifacts'), stats: json('stats') }
  // note: kept under the key version its content had, so a data key rotation in progress carries on as before.
  return sealMessageBody(content.key, messageRowId(row.chat_id as ChatId, row.id), content.text, fields)
}
