/**
 * Data keys: each owner (a user, or 'system' for server-wide data) has its own random 256-bit key,
 * stored wrapped under the master key. Rows are sealed under their owner's data key, so deleting a
 * user's data key makes their rows in the live database unreadable. A backup carries its own copy of
 * the wrapped keys, so it opens again for as long as the master key it was taken under exists.
 * Unwrapped keys are kept in memory only, in a cache this repository owns.
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
  let master: VersionedKey = { version: MASTER_KEY_VERSION, key: masterKey }
  const cache = new Map<OwnerId, KeyRing>()
  const selectKeys = db.query<DataKeyRow, [string]>('SELECT owner_id, version, wrapped FROM data_key WHERE owner_id = ? ORDER BY version')
  const insertKey = db.query<void, [string, number, Uint8Array, number]>('INSERT INTO data_key (owner_id, version, wrapped, created_at) VALUES (?, ?, ?, ?)')
  const deleteKeys = db.query<void, [string]>('DELETE FROM data_key WHERE owner_id = ?')
  const selectAll = db.query<DataKeyRow, []>('SELECT owner_id, version, wrapped FROM data_key ORDER BY owner_id, version')
  const updateWrapped = db.query<void, [Uint8Array, string, number]>('UPDATE data_key SET wrapped = ? WHERE owner_id = ? AND version = ?')
  const selectLatestVersion = db.query<{ v: number | null }, [string]>('SELECT max(version) AS v FROM data_key WHERE owner_id = ?')
  const deleteOlder = db.query<void, [string, number]>('DELETE FROM data_key WHERE owner_id = ? AND version < ?')
  const selectRotating = db.query<{ owner_id: string }, []>('SELECT owner_id FROM data_key GROUP BY owner_id HAVING count(*) > 1 ORDER BY owner_id')

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

  const repo = {
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

    /**
     * The owner's keys for code on the async engine contract (engine.ts): the same ring and the
     * same FieldOpenError as keysForOwner. Repositories on the contract call this one; it reads
     * through the engine once the data keys move onto it, so callers do not change again.
     */
    async ringFor(owner: OwnerId): Promise<KeyRing> {
      return repo.keysForOwner(owner)
    },

    /** createKeyForOwner for code on the async engine contract; call inside the owner's creating transaction. */
    async createKey(owner: OwnerId): Promise<KeyRing> {
      return repo.createKeyForOwner(owner)
    },

    /** destroyKeysOfOwner for code on the async engine contract. */
    async destroyKeys(owner: OwnerId): Promise<void> {
      repo.destroyKeysOfOwner(owner)
    },

    /**
     * Adds a new current data key version for the owner: new rows are sealed under it, older
     * versions still open. Returns the new version. Call before re-encrypting the owner's rows.
     */
    addKeyVersion(owner: OwnerId): number {
      const latest = selectLatestVersion.get(owner)?.v ?? null
      if (latest === null) throw new FieldOpenError('data_key', 'wrapped', `${owner}/current`)
      const version = latest + 1
      insertKey.run(owner, version, sealField(master, generateKey(), wrapContext(owner, version)), now())
      cache.delete(owner)
      return version
    },

    /** Destroys the owner's key versions older than `version`; call once no row is sealed under them. */
    destroyKeyVersionsBefore(owner: OwnerId, version: number): void {
      deleteOlder.run(owner, version)
      cache.delete(owner)
    },

    /** Lists owners holding more than one key version: a data key rotation that has not finished. */
    listOwnersWithOldKeyVersions(): OwnerId[] {
      return selectRotating.all().map((row) => row.owner_id)
    },

    /**
     * Re-wraps every data key under a new master key; the data keys themselves do not change, so no
     * row is touched. Call inside the transaction that also records the new key check, then call
     * useMasterKey after it commits. Returns how many keys were re-wrapped.
     */
    rewrapEveryKey(newMaster: Uint8Array): number {
      const next: VersionedKey = { version: MASTER_KEY_VERSION, key: newMaster }
      const rows = selectAll.all()
      for (const row of rows) {
        const { key } = unwrap(row)
        updateWrapped.run(sealField(next, key, wrapContext(row.owner_id, row.version)), row.owner_id, row.version)
      }
      return rows.length
    },

    /** Lists every data key (as owner/version) that does not unwrap under the master key; empty when all do. */
    findUnopenableKeys(): string[] {
      const failed: string[] = []
      for (const row of selectAll.iterate()) {
        try {
          unwrap(row)
        } catch {
          failed.push(`${row.owner_id}/${row.version}`)
        }
      }
      return failed
    },

    /** Switches the master key this repository wraps new keys with, after a committed re-wrap. */
    useMasterKey(newMaster: Uint8Array): void {
      master = { version: MASTER_KEY_VERSION, key: newMaster }
    },

    /** Destroys every data key of the owner, which makes their sealed rows unreadable for good. */
    destroyKeysOfOwner(owner: OwnerId): void {
      deleteKeys.run(owner)
      cache.delete(owner)
    },
  }
  return repo
}

export type DataKeyRepo = ReturnType<typeof createDataKeyRepo>
