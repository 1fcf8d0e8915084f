/**
 * Data key rotation: an owner gets a new data key version, then their sealed values are re-sealed
 * under it in small batches, each batch one short transaction, so the server keeps serving between
 * them (new writes already use the new version). When none of the owner's values is left under an
 * older version, the older versions are destroyed. The state lives in the database itself: an owner
 * with more than one key version is an unfinished rotation, so a restart simply carries on.
 *
 * Runs on either engine: rows are walked and rewritten by their primary key, and a value's key
 * version is read from its header with `substr` (bytes 2-5, on SQLite's BLOB and PostgreSQL's BYTEA).
 * The email blind-index key is not rotated here: its HMACs are lookup keys, not sealed values.
 */
import { openField, sealField } from '../crypto/field-cipher.ts'
import { SYSTEM_OWNER, type DataKeyRepo, type KeyRing, type OwnerId } from './data-keys.ts'
import type { SqlEngine, SqlValue } from './engine.ts'
import { FieldOpenError } from './field-open-error.ts'
import { afterKey, rowIdOf, sealedPlaces, type SealedPlace } from './sealed-columns.ts'
import { EMAIL_INDEX_OWNER } from './users.ts'

export type RotationStep = { reencrypted: number; finishedOwners: OwnerId[]; pendingOwners: number }

const versionBytes = (version: number) => {
  const bytes = new Uint8Array(4)
  new DataView(bytes.buffer).setUint32(0, version)
  return bytes
}

const quoted = (table: string) => `"${table}"`

export function createDataKeyRotator(sql: SqlEngine, dataKeys: DataKeyRepo) {
  // note: places are told apart by their owner, so a new system-owned table (groups) rotates with the settings.
  const isSystemPlace = (place: SealedPlace) => place.owner === `'${SYSTEM_OWNER}'`
  const systemPlaces = sealedPlaces.filter(isSystemPlace)
  const userPlaces = sealedPlaces.filter((place) => !isSystemPlace(place) && place.table !== 'message')
  const messagePlace = sealedPlaces.find((place) => place.table === 'message')!
  // note: cursors live in memory; after a restart one pass re-reads headers only, since done rows no longer match.
  const cursors = new Map<string, SqlValue[]>()

  /** SQL true when a value of the columns is under another version than the one bound (once per column, in order). */
  const stale = (columns: readonly string[], alias = 't') => `(${columns.map((column) => `(${alias}.${column} IS NOT NULL AND substr(${alias}.${column}, 2, 4) != ?)`).join(' OR ')})`
  const staleParams = (columns: readonly string[], ring: KeyRing) => columns.map(() => versionBytes(ring.current.version))
  const keyNames = (place: SealedPlace) => place.key.map((_, i) => `k${i}`)
  const keyOf = (place: SealedPlace, row: Record<string, unknown>) => keyNames(place).map((name) => row[name] as SqlValue)

  async function reseal(place: SealedPlace, rows: Record<string, unknown>[], ring: KeyRing): Promise<number> {
    const update = `UPDATE ${quoted(place.table)} SET ${place.columns.map((column) => `${column} = ?`).join(', ')}
      WHERE ${place.key.map((column) => `${column.replace(/^t\./, '')} = ?`).join(' AND ')}`
    for (const row of rows) {
      const rowId = String(row.row_id)
      const values = place.columns.map((column) => {
        const sealed = row[column] as Uint8Array | null
        if (sealed === null) return null
        const context = { table: place.table, column, rowId }
        const version = new DataView(sealed.buffer, sealed.byteOffset + 1, 4).getUint32(0)
        if (version === ring.current.version) return sealed
        const key = ring.byVersion(version)
        const plain = key === null ? null : openField(key, sealed, context)
        if (plain === null) throw new FieldOpenError(place.table, column, rowId)
        return sealField(ring.current, plain, context)
      })
      await sql.run(update, ...values, ...keyOf(place, row))
    }
    return rows.length
  }

  /** Up to `limit` stale rows of a place past the cursor, in key order; `where` (with its `params`) narrows them. */
  async function staleRows(place: SealedPlace, ring: KeyRing, where: string, params: SqlValue[], cursor: SqlValue[] | undefined, limit: number) {
    return sql.all<Record<string, unknown>>(
      `SELECT ${place.key.map((column, i) => `${column} AS k${i}`).join(', ')}, ${rowIdOf(place, sql.dialect)} AS row_id,
         ${place.columns.map((column) => `t.${column}`).join(', ')} FROM ${place.from}
       WHERE ${where}${cursor === undefined ? '' : ` AND ${afterKey(place)}`} AND ${stale(place.columns)} ORDER BY ${place.key.join(', ')} LIMIT ?`,
      ...params, ...(cursor ?? []), ...staleParams(place.columns, ring), limit)
  }

  /** Re-seals up to `limit` of one place's stale rows for the owner; returns how many. */
  async function stepPlace(owner: OwnerId, place: SealedPlace, ring: KeyRing, limit: number): Promise<number> {
    const cursorKey = `${owner}\0${place.table}`
    const rows = await staleRows(place, ring, place.ownedBy, [owner], cursors.get(cursorKey), limit)
    if (rows.length > 0) cursors.set(cursorKey, keyOf(place, rows.at(-1)!))
    return reseal(place, rows, ring)
  }

  /** The owner's messages, chat by chat, so each batch reads one chat's index range only. */
  async function stepMessages(owner: OwnerId, ring: KeyRing, limit: number): Promise<number> {
    const chatKey = `${owner}\0chat-cursor`
    const chats = await sql.all<{ seq: number }>('SELECT seq FROM chat WHERE user_id = ? AND seq > ? ORDER BY seq', owner, Number(cursors.get(chatKey)?.[0] ?? 0))
    let done = 0
    for (const { seq } of chats) {
      const messageKey = `${owner}\0message-cursor`
      const rows = await staleRows(messagePlace, ring, 't.chat_seq = ?', [seq], cursors.get(messageKey), limit - done)
      done += await reseal(messagePlace, rows, ring)
      if (rows.length > 0) cursors.set(messageKey, keyOf(messagePlace, rows.at(-1)!))
      if (done >= limit) return done
      cursors.set(chatKey, [seq])
      cursors.delete(messageKey)
    }
    return done
  }

  async function countStale(owner: OwnerId, ring: KeyRing): Promise<number> {
    const places = owner === SYSTEM_OWNER ? systemPlaces : [...userPlaces, messagePlace]
    let count = 0
    for (const place of places) {
      const row = await sql.get<{ n: number }>(`SELECT count(*) AS n FROM ${place.from} WHERE ${place.ownedBy} AND ${stale(place.columns)}`,
        owner, ...staleParams(place.columns, ring))
      count += Number(row!.n)
    }
    return count
  }

  async function pendingOwners(): Promise<OwnerId[]> {
    return (await dataKeys.listOwnersWithOldKeyVersions()).filter((owner) => owner !== EMAIL_INDEX_OWNER)
  }

  function forgetCursors(owner: OwnerId): void {
    for (const key of cursors.keys()) if (key.startsWith(`${owner}\0`)) cursors.delete(key)
  }

  return {
    /** Gives each owner (a user id, or every user and 'system' when null) a new data key version; owners mid-rotation keep theirs. */
    beginRotation(owners: OwnerId[] | null): Promise<number> {
      return sql.transaction(async () => {
        const pending = new Set(await dataKeys.listOwnersWithOldKeyVersions())
        const chosen = owners ?? [SYSTEM_OWNER, ...(await sql.all<{ id: string }>('SELECT id FROM "user" ORDER BY id')).map((row) => row.id)]
        let started = 0
        for (const owner of chosen) {
          if (owner === EMAIL_INDEX_OWNER || pending.has(owner)) continue
          await dataKeys.addKeyVersion(owner)
          started++
        }
        return started
      })
    },

    /** Owners whose rotation has not finished. */
    pendingOwners,

    /** Re-seals up to `limit` stale values of the first pending owner in one transaction; finishes owners with none left. */
    async step(limit: number): Promise<RotationStep> {
      const pending = await pendingOwners()
      const owner = pending[0]
      if (owner === undefined) return { reencrypted: 0, finishedOwners: [], pendingOwners: 0 }
      return sql.transaction(async (): Promise<RotationStep> => {
        const ring = await dataKeys.ringFor(owner)
        const places = owner === SYSTEM_OWNER ? systemPlaces : userPlaces
        let done = 0
        for (const place of places) {
          if (done < limit) done += await stepPlace(owner, place, ring, limit - done)
        }
        if (done < limit && owner !== SYSTEM_OWNER) done += await stepMessages(owner, ring, limit - done)
        if (done < limit) {
          forgetCursors(owner)
          // note: a final count without cursors, so nothing written behind a cursor under an old ring is left.
          if (await countStale(owner, ring) === 0) {
            await dataKeys.destroyKeyVersionsBefore(owner, ring.current.version)
            return { reencrypted: done, finishedOwners: [owner], pendingOwners: pending.length - 1 }
          }
        }
        return { reencrypted: done, finishedOwners: [], pendingOwners: pending.length }
      })
    },

    /** Counts sealed values still under an older key version, across pending owners. */
    async countStaleValues(): Promise<number> {
      let sum = 0
      for (const owner of await pendingOwners()) sum += await countStale(owner, await dataKeys.ringFor(owner))
      return sum
    },
  }
}

export type DataKeyRotator = ReturnType<typeof createDataKeyRotator>
