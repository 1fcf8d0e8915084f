/**
 * Data key rotation: an owner gets a new data key version, then their sealed values are re-sealed
 * under it in small batches, each batch one short transaction, so the server keeps serving between
 * them (new writes already use the new version). When none of the owner's values is left under an
 * older version, the older versions are destroyed. The state lives in the database itself: an owner
 * with more than one key version is an unfinished rotation, so a restart simply carries on.
 *
 * The email blind-index key is not rotated here: its HMACs are lookup keys, not sealed values.
 */
import type { Database } from 'bun:sqlite'
import { openField, sealField } from '../crypto/field-cipher.ts'
import { SYSTEM_OWNER, type DataKeyRepo, type KeyRing, type OwnerId } from './data-keys.ts'
import { FieldOpenError } from './field-open-error.ts'
import { sealedPlaces, type SealedPlace } from './sealed-columns.ts'
import { EMAIL_INDEX_OWNER } from './users.ts'

export type RotationStep = { reencrypted: number; finishedOwners: OwnerId[]; pendingOwners: number }

const versionBytes = (version: number) => {
  const bytes = new Uint8Array(4)
  new DataView(bytes.buffer).setUint32(0, version)
  return bytes
}

export function createDataKeyRotator(db: Database, dataKeys: DataKeyRepo) {
  // note: places are told apart by their owner, so a new system-owned table (groups) rotates with the settings.
  const isSystemPlace = (place: SealedPlace) => place.owner === `'${SYSTEM_OWNER}'`
  const systemPlaces = sealedPlaces.filter(isSystemPlace)
  const userPlaces = sealedPlaces.filter((place) => !isSystemPlace(place) && place.table !== 'message')
  const messagePlace = sealedPlaces.find((place) => place.table === 'message')!
  const listUsers = db.query<{ id: string }, []>('SELECT id FROM user ORDER BY id')
  const chatsOf = db.query<{ seq: number }, [string, number]>('SELECT seq FROM chat WHERE user_id = ? AND seq > ? ORDER BY seq')
  // note: cursors live in memory; after a restart one pass re-reads headers only, since done rows no longer match.
  const cursors = new Map<string, number>()

  const stale = (columns: readonly string[], alias = 't') => `(${columns.map((column) => `(${alias}.${column} IS NOT NULL AND substr(${alias}.${column}, 2, 4) != ?1)`).join(' OR ')})`

  function reseal(place: SealedPlace, rows: Record<string, unknown>[], ring: KeyRing): number {
    const update = db.query(`UPDATE ${place.table} SET ${place.columns.map((column) => `${column} = ?`).join(', ')} WHERE rowid = ?`)
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
      update.run(...values, row.k as number)
    }
    return rows.length
  }

  /** Re-seals up to `limit` of one place's stale rows for the owner; returns how many. */
  function stepPlace(owner: OwnerId, place: SealedPlace, ring: KeyRing, limit: number): number {
    const cursorKey = `${owner}\0${place.table}`
    const select = db.query<Record<string, unknown>, [Uint8Array, string, number, number]>(
      `SELECT t.rowid AS k, ${place.rowId} AS row_id, ${place.columns.map((column) => `t.${column}`).join(', ')} FROM ${place.from}
       WHERE ${place.ownedBy.replace('?', '?2')} AND t.rowid > ?3 AND ${stale(place.columns)} ORDER BY t.rowid LIMIT ?4`)
    const rows = select.all(versionBytes(ring.current.version), owner, cursors.get(cursorKey) ?? 0, limit)
    if (rows.length > 0) cursors.set(cursorKey, rows.at(-1)!.k as number)
    return reseal(place, rows, ring)
  }

  /** The owner's messages, chat by chat, so each batch reads one chat's index range only. */
  function stepMessages(owner: OwnerId, ring: KeyRing, limit: number): number {
    const chatKey = `${owner}\0chat-cursor`
    const select = db.query<Record<string, unknown>, [Uint8Array, number, number, number]>(
      `SELECT t.id AS k, ${messagePlace.rowId} AS row_id, ${messagePlace.columns.map((column) => `t.${column}`).join(', ')} FROM ${messagePlace.from}
       WHERE t.chat_seq = ?2 AND t.id > ?3 AND ${stale(messagePlace.columns)} ORDER BY t.id LIMIT ?4`)
    let done = 0
    for (const { seq } of chatsOf.all(owner, cursors.get(chatKey) ?? 0)) {
      const messageKey = `${owner}\0message-cursor`
      const rows = select.all(versionBytes(ring.current.version), seq, cursors.get(messageKey) ?? 0, limit - done)
      done += reseal(messagePlace, rows, ring)
      if (rows.length > 0) cursors.set(messageKey, rows.at(-1)!.k as number)
      if (done >= limit) return done
      cursors.set(chatKey, seq)
      cursors.delete(messageKey)
    }
    return done
  }

  function countStale(owner: OwnerId, ring: KeyRing): number {
    const places = owner === SYSTEM_OWNER ? systemPlaces : [...userPlaces, messagePlace]
    let count = 0
    for (const place of places) {
      count += db.query<{ n: number }, [Uint8Array, string]>(`SELECT count(*) AS n FROM ${place.from} WHERE ${place.ownedBy.replace('?', '?2')} AND ${stale(place.columns)}`)
        .get(versionBytes(ring.current.version), owner)!.n
    }
    return count
  }

  function pendingOwners(): OwnerId[] {
    return dataKeys.listOwnersWithOldKeyVersions().filter((owner) => owner !== EMAIL_INDEX_OWNER)
  }

  function forgetCursors(owner: OwnerId): void {
    for (const key of cursors.keys()) if (key.startsWith(`${owner}\0`)) cursors.delete(key)
  }

  return {
    /** Gives each owner (a user id, or every user and 'system' when null) a new data key version; owners mid-rotation keep theirs. */
    beginRotation(owners: OwnerId[] | null): number {
      return db.transaction(() => {
        const pending = new Set(dataKeys.listOwnersWithOldKeyVersions())
        const chosen = owners ?? [SYSTEM_OWNER, ...listUsers.all().map((row) => row.id)]
        let started = 0
        for (const owner of chosen) {
          if (owner === EMAIL_INDEX_OWNER || pending.has(owner)) continue
          dataKeys.addKeyVersion(owner)
          started++
        }
        return started
      }).immediate()
    },

    /** Owners whose rotation has not finished. */
    pendingOwners,

    /** Re-seals up to `limit` stale values of the first pending owner in one transaction; finishes owners with none left. */
    step(limit: number): RotationStep {
      const pending = pendingOwners()
      const owner = pending[0]
      if (owner === undefined) return { reencrypted: 0, finishedOwners: [], pendingOwners: 0 }
      return db.transaction((): RotationStep => {
        const ring = dataKeys.keysForOwner(owner)
        const places = owner === SYSTEM_OWNER ? systemPlaces : userPlaces
        let done = 0
        for (const place of places) {
          if (done < limit) done += stepPlace(owner, place, ring, limit - done)
        }
        if (done < limit && owner !== SYSTEM_OWNER) done += stepMessages(owner, ring, limit - done)
        if (done < limit) {
          forgetCursors(owner)
          // note: a final count without cursors, so nothing written behind a cursor under an old ring is left.
          if (countStale(owner, ring) === 0) {
            dataKeys.destroyKeyVersionsBefore(owner, ring.current.version)
            return { reencrypted: done, finishedOwners: [owner], pendingOwners: pending.length - 1 }
          }
        }
        return { reencrypted: done, finishedOwners: [], pendingOwners: pending.length }
      }).immediate()
    },

    /** Counts sealed values still under an older key version, across pending owners. */
    countStaleValues(): number {
      return pendingOwners().reduce((sum, owner) => sum + countStale(owner, dataKeys.keysForOwner(owner)), 0)
    },
  }
}

export type DataKeyRotator = ReturnType<typeof createDataKeyRotator>
