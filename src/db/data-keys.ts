/**
 * Data keys: each owner (a user, or 'system' for server-wide data) has its own random 256-bit key,
 * stored wrapped under the master key. Rows are sealed under their owner's data key, so deleting a
 * user's data key destroys every copy of their data, backups included. Unwrapped keys are kept in
 * memory only, in a cache this repository owns.
 */
import type { Database } from 'bun:sqlite'
import { openField, sealField, sealedKeyVersion, type VersionedKey } from '../crypto/field-cipher.ts'
import { generateKey } from '../crypto/random.ts'
import { FieldOpenError } from './field-open-error.ts'

/** The keys one owner's rows may be sealed under: the current one seals, any version opens. */
export type KeyRing = {
  readonly current: VersionedKey
  /** Returns the key of that version, or null when the owner has none. */
  byVersion(version: number): VersionedKey | null
}

export type OwnerId = string
export const SYSTEM_OWNER: OwnerId = 'system'
const MASTER_KEY_VERSION = 1

type DataKeyRow = { owner_id: string; version: number; wrapped: Uint8Array }

export function createDataKeyRepo(db: Database, masterKey: Uint8Array, now: () => number) {
  const master: VersionedKey = { version: MASTER_KEY_VERSION, key: masterKey }
  const cache = new Map<OwnerId, KeyRing>()
  const selectKeys = db.query<DataKeyRow, [string]>('SELECT owner_id, version, wrapped FROM data_key WHERE owner_id = ? ORDER BY version')
  const insertKey = db.query<void, [string, number, Uint8Array, number]>('INSERT INTO data_key (owner_id, version, wrapped, created_at) VALUES (?, ?, ?, ?)')
  const deleteKeys = db.query<void, [string]>('DELETE FROM data_key WHERE owner_id = ?')

  const wrapContext = (owner: OwnerId, version: number) => ({ table: 'data_key', column: 'wrapped', rowId: `${owner}/${version}` })

  function unwrap(row: DataKeyRow): VersionedKey {
    const context = wrapContext(row.owner_id, row.version)
    const key = sealedKeyVersion(row.wrapped) === MASTER_KEY_VERSION ? openField(master, row.wrapped, context) : null
    if (key === null || key.length !== 32) throw new FieldOpenError('data_key', 'wrapped', context.rowId)
    return { version: row.version, key: new Uint8Array(key) }
  }

  function loadRing(owner: OwnerId): KeyRing | null {
    const keys = selectKeys.all(owner).map(unwrap)
    const current = keys.at(-1)
    if (current === undefined) return null
    const byVersion = new Map(keys.map((key) => [key.version, key]))
    return { current, byVersion: (version) => byVersion.get(version) ?? null }
  }

  return {
    /** Creates the owner's first data key. Call inside the transaction that creates the owner. */
    createKeyForOwner(owner: OwnerId): KeyRing {
      const key: VersionedKey = { version: 1, key: generateKey() }
      insertKey.run(owner, key.version, sealField(master, key.key, wrapContext(owner, key.version)), now())
      cache.delete(owner)
      return { current: key, byVersion: (version) => (version === key.version ? key : null) }
    },

    /** Returns the owner's keys, or throws FieldOpenError('data_key', ...) when they have none. */
    keysForOwner(owner: OwnerId): KeyRing {
      const cached = cache.get(owner)
      if (cached !== undefined) return cached
      const ring = loadRing(owner)
      if (ring === null) throw new FieldOpenError('data_key', 'wrapped', `${owner}/current`)
      cache.set(owner, ring)
      return ring
    },

    /** Destroys every data key of the owner, which makes their sealed rows unreadable for good. */
    destroyKeysOfOwner(owner: OwnerId): void {
      deleteKeys.run(owner)
      cache.delete(owner)
    },
  }
}

export type DataKeyRepo = ReturnType<typeof createDataKeyRepo>
