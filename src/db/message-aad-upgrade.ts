/**
 * Finishes schema 6 for messages written before it: they were sealed with their own id alone as
 * AAD, and are re-sealed with the chat's id in it (message-rows.ts). Migrations are SQL and run
 * before the keys are at hand (a restore migrates a backup it cannot open), so schema 6 only
 * records the highest such id in meta; the store calls this at start, holding the keys, and it
 * re-seals them all in one transaction, then forgets the mark. Reads never accept the old AAD:
 * until this has run, such a message does not open at all.
 */
import type { Database } from 'bun:sqlite'
import { openField, sealField, sealedKeyVersion } from '../crypto/field-cipher.ts'
import type { DataKeyRepo, KeyRing } from './data-keys.ts'
import { FieldOpenError } from './field-open-error.ts'
import { messageRowId } from './message-rows.ts'
import type { ChatId } from './ids.ts'

const MARK = 'message_legacy_aad_up_to'
const BATCH = 500
/** The columns that existed before schema 6, the only ones a legacy row can hold. */
const LEGACY_COLUMNS = ['model', 'content', 'images', 'artifacts', 'stats'] as const

type LegacyRow = { id: number; chat_id: string; user_id: string } & Record<(typeof LEGACY_COLUMNS)[number], Uint8Array | null>

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
      `SELECT m.id, c.id AS chat_id, c.user_id, ${LEGACY_COLUMNS.map((column) => `m.${column}`).join(', ')}
       FROM message m JOIN chat c ON c.seq = m.chat_seq WHERE m.id > ? AND m.id <= ? ORDER BY m.id LIMIT ${BATCH}`)
    const update = db.query<void, [...(Uint8Array | null)[], number]>(
      `UPDATE message SET ${LEGACY_COLUMNS.map((column) => `${column} = ?`).join(', ')} WHERE id = ?`)
    const rings = new Map<string, KeyRing>()
    let count = 0
    for (let rows = batch.all(0, upTo); rows.length > 0; rows = batch.all(rows.at(-1)!.id, upTo)) {
      for (const row of rows) {
        let ring = rings.get(row.user_id)
        if (ring === undefined) rings.set(row.user_id, ring = dataKeys.keysForOwner(row.user_id))
        const values = LEGACY_COLUMNS.map((column) => reseal(row[column], column, String(row.id), messageRowId(row.chat_id as ChatId, row.id), ring))
        update.run(...values, row.id)
      }
      count += rows.length
    }
    db.query('DELETE FROM meta WHERE name = ?').run(MARK)
    return count
  }).immediate()
}

function reseal(sealed: Uint8Array | null, column: string, oldRowId: string, newRowId: string, ring: KeyRing): Uint8Array | null {
  if (sealed === null) return null
  const version = sealedKeyVersion(sealed)
  const key = version === null ? null : ring.byVersion(version)
  const plain = key === null ? null : openField(key, sealed, { table: 'message', column, rowId: oldRowId })
  if (key === null || plain === null) throw new FieldOpenError('message', column, oldRowId)
  // note: kept under the key version it had, so a data key rotation in progress carries on as before.
  return sealField(key, plain, { table: 'message', column, rowId: newRowId })
}
