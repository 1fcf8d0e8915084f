/**
 * Data keys: each owner (a user, or 'system' for server-wide data) has its own random 256-bit key,
 * stored wrapped under the master key. Rows are sealed under their owner's data key, so deleting a
 * user's data key makes their rows in the live database unreadable. A backup carries its own copy of
 * the wrapped keys, so it opens again for as long as the master key it was taken under exists.
 * Unwrapped keys are kept in memory only, in a cache this repository owns.
 *
 * The keys live on the engine (engine.ts): `ringFor`, `createKey`, `destroyKeys` and the rotation
 * calls read and write through it, on SQLite or PostgreSQL. A ring not in the cache is read from
 * the database, so an owner another instance created is found. The synchronous `keysForOwner` &
 * co. read the same SQLite file directly, for repositories not yet on the engine; they share the cache.
 *
 * Several instances: a rotation step, destroyed versions or a destroyed owner is told to
 * `onKeysChanged` listeners once committed (the cluster relays it; the others call `forgetRing`),
 * so no instance seals under a retired version or keeps a deleted owner's keys. Should a notice be
 * late, a cached ring asked for a version newer than its own drops itself from the cache
 * (`isOutdated`), and the chat repository reads the ring again once rather than fail.
 */
import type { Database } from 'bun:sqlite'
import { openField, sealField, sealedKeyVersion, type VersionedKey } from '../crypto/field-cipher.ts'
import { generateKey } from '../crypto/random.ts'
import type { SqlEngine } from './engine.ts'
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

/** Rows read per page when every key is walked (re-wrap, unopenable keys). */
const PAGE_ROWS = 500

/**
 * Opens the data keys on `sql` under `masterKey`. On SQLite (`sql.db` set) the synchronous calls
 * work too; on PostgreSQL they throw, as nothing there may read synchronously.
 */
export function createDataKeyRepo(sql: SqlEngine & { readonly db?: Database }, masterKey: Uint8Array, now: () => number) {
  let master: VersionedKey = { version: MASTER_KEY_VERSION, key: masterKey }
  const cache = new Map<OwnerId, KeyRing>()
  // note: moved by every write to the keys, so a read that a write raced is served but not cached.
  let generation = 0
  /**
   * Key writes made through the engine and not settled yet (committed or rolled back): a read
   * inside a transaction may see one, so it is kept only while there is none.
   */
  let unsettled = 0
  const file = () => {
    if (sql.db === undefined) throw new Error('synchronous data key calls need the SQLite engine')
    return sql.db
  }

  const wrapContext = (owner: OwnerId, version: number) => ({ table: 'data_key', column: 'wrapped', rowId: `${owner}/${version}` })

  function unwrap(row: DataKeyRow): VersionedKey {
    const version = Number(row.version)
    const context = wrapContext(row.owner_id, version)
    const key = sealedKeyVersion(row.wrapped) === MASTER_KEY_VERSION ? openField(master, row.wrapped, context) : null
    if (key === null || key.length !== 32) throw new FieldOpenError('data_key', 'wrapped', context.rowId)
    return { version, key: new Uint8Array(key) }
  }

  /** Rings that met a value under a newer version than their current one: another instance began a rotation. */
  const outdated = new WeakSet<KeyRing>()

  function ringOf(owner: OwnerId, rows: DataKeyRow[]): KeyRing | null {
    const keys = rows.map(unwrap)
    const current = keys.at(-1)
    if (current === undefined) return null
    const byVersion = new Map(keys.map((key) => [key.version, key]))
    const ring: KeyRing = {
      current,
      byVersion(version) {
        const key = byVersion.get(version) ?? null
        if (key === null && version > current.version && !outdated.has(ring)) {
          outdated.add(ring)
          if (cache.get(owner) === ring) forget(owner)
        }
        return key
      },
    }
    return ring
  }
  const keyListeners = new Set<(owner: OwnerId) => void>()
  // note: several instances set it (cluster/shared-writes-relay.ts): no ring is kept while their notices may be lost.
  let mayCache: () => boolean = () => true
  /** Tells the listeners of a write to the owner's keys once it has committed. */
  const changed = (owner: OwnerId) => sql.afterCommit(() => {
    for (const listener of keyListeners) listener(owner)
  })

  const wrapNew = (owner: OwnerId, key: VersionedKey) => sealField(master, key.key, wrapContext(owner, key.version))
  const forget = (owner: OwnerId) => {
    generation++
    cache.delete(owner)
  }
  /**
   * Runs a key write of the owner's through the engine: the owner's ring is dropped before and
   * after, and the write counts as unsettled until it, or the transaction it ran in, has ended.
   */
  const writeKeys = async (owner: OwnerId, write: () => Promise<unknown>): Promise<void> => {
    forget(owner)
    const transaction = sql.currentTransaction()
    unsettled++
    try {
      await write()
    } finally {
      forget(owner)
      if (transaction === null) unsettled--
      else void transaction.settled.then(() => { unsettled-- })
    }
  }
  const onlyKey = (key: VersionedKey): KeyRing => ({ current: key, byVersion: (version) => (version === key.version ? key : null) })
  const noKeys = (owner: OwnerId) => new FieldOpenError('data_key', 'wrapped', `${owner}/current`)

  const SELECT_KEYS = 'SELECT owner_id, version, wrapped FROM data_key WHERE owner_id = ? ORDER BY version'
  const INSERT_KEY = 'INSERT INTO data_key (owner_id, version, wrapped, created_at) VALUES (?, ?, ?, ?)'
  const DELETE_KEYS = 'DELETE FROM data_key WHERE owner_id = ?'

  /** Every data key row, page by page in (owner, version) order. */
  async function* everyKeyPage(): AsyncGenerator<DataKeyRow[]> {
    let after: [string, number] = ['', 0]
    for (;;) {
      const rows = await sql.all<DataKeyRow>(
        // note: a row value, which both engines seek in the primary key; `a > ? OR (a = ? AND b > ?)` had SQLite scan it from the start for every page.
        'SELECT owner_id, version, wrapped FROM data_key WHERE (owner_id, version) > (?, ?) ORDER BY owner_id, version LIMIT ?',
        after[0], after[1], PAGE_ROWS)
      if (rows.length > 0) yield rows
      if (rows.length < PAGE_ROWS) return
      const last = rows.at(-1)!
      after = [last.owner_id, Number(last.version)]
    }
  }
  async function* everyKey(): AsyncGenerator<DataKeyRow> {
    for await (const page of everyKeyPage()) yield* page
  }

  const repo = {
    /** Creates the owner's first data key. Call inside the transaction that creates the owner (SQLite only). */
    createKeyForOwner(owner: OwnerId): KeyRing {
      const key: VersionedKey = { version: 1, key: generateKey() }
      file().query(INSERT_KEY).run(owner, key.version, wrapNew(owner, key), now())
      forget(owner)
      return onlyKey(key)
    },

    /** Returns the owner's keys, or throws FieldOpenError('data_key', ...) when they have none (SQLite only). */
    keysForOwner(owner: OwnerId): KeyRing {
      const cached = cache.get(owner)
      if (cached !== undefined) return cached
      const ring = ringOf(owner, file().query<DataKeyRow, [string]>(SELECT_KEYS).all(owner))
      if (ring === null) throw noKeys(owner)
      cache.set(owner, ring)
      return ring
    },

    /** Destroys every data key of the owner, which makes their sealed rows unreadable for good (SQLite only). */
    destroyKeysOfOwner(owner: OwnerId): void {
      file().query(DELETE_KEYS).run(owner)
      forget(owner)
    },

    /**
     * Returns the owner's keys, or throws FieldOpenError('data_key', ...) when they have none. Read
     * from the database when not cached, and kept unless a key write raced the read. A read inside
     * a transaction is kept only when it read what is committed: the engine's transaction sees
     * every commit (SQLite, the one writer) and no key write is unsettled (none of its own or its
     * batch's, which might roll back).
     */
    async ringFor(owner: OwnerId): Promise<KeyRing> {
      const cached = cache.get(owner)
      if (cached !== undefined) return cached
      const seen = generation
      const transaction = sql.currentTransaction()
      const ring = ringOf(owner, await sql.all<DataKeyRow>(SELECT_KEYS, owner))
      if (ring === null) throw noKeys(owner)
      const consistent = transaction === null || (transaction.seesEveryCommit && unsettled === 0)
      if (seen === generation && consistent && (sql.dialect === 'sqlite' || mayCache())) cache.set(owner, ring)
      return ring
    },

    /** Creates the owner's first data key; call inside the transaction that creates the owner. */
    async createKey(owner: OwnerId): Promise<KeyRing> {
      const key: VersionedKey = { version: 1, key: generateKey() }
      await writeKeys(owner, () => sql.run(INSERT_KEY, owner, key.version, wrapNew(owner, key), now()))
      return onlyKey(key)
    },

    /** Destroys every data key of the owner, which makes their sealed rows unreadable for good. */
    async destroyKeys(owner: OwnerId): Promise<void> {
      await writeKeys(owner, () => sql.run(DELETE_KEYS, owner))
      changed(owner)
    },

    /**
     * Adds a new current data key version for the owner: new rows are sealed under it, older
     * versions still open. Returns the new version. Call before re-encrypting the owner's rows.
     */
    async addKeyVersion(owner: OwnerId): Promise<number> {
      const latest = (await sql.get<{ v: number | null }>('SELECT max(version) AS v FROM data_key WHERE owner_id = ?', owner))?.v ?? null
      if (latest === null) throw noKeys(owner)
      const version = Number(latest) + 1
      await writeKeys(owner, () => sql.run(INSERT_KEY, owner, version, wrapNew(owner, { version, key: generateKey() }), now()))
      changed(owner)
      return version
    },

    /** Destroys the owner's key versions older than `version`; call once no row is sealed under them. */
    async destroyKeyVersionsBefore(owner: OwnerId, version: number): Promise<void> {
      await writeKeys(owner, () => sql.run('DELETE FROM data_key WHERE owner_id = ? AND version < ?', owner, version))
      changed(owner)
    },

    /** Drops the owner's cached ring (null: every owner's), read again on next use: another instance changed the keys. */
    forgetRing(owner: OwnerId | null): void {
      if (owner !== null) return forget(owner)
      generation++
      cache.clear()
    },

    /** On PostgreSQL, keeps rings in memory only while `isAllowed()` (another instance's key writes are heard); drops every ring now. SQLite's one process always keeps them. */
    cacheRingsOnlyWhile(isAllowed: () => boolean): void {
      mayCache = isAllowed
      repo.forgetRing(null)
    },

    /** Whether the ring met a value under a newer key version than its own: read the ring again (ringFor). */
    isOutdated(ring: KeyRing): boolean {
      return outdated.has(ring)
    },

    /** Calls `listener` with the owner after each committed write to their keys (a version added or destroyed, the owner destroyed). */
    onKeysChanged(listener: (owner: OwnerId) => void): () => void {
      keyListeners.add(listener)
      return () => void keyListeners.delete(listener)
    },

    /** Lists owners holding more than one key version: a data key rotation that has not finished. */
    async listOwnersWithOldKeyVersions(): Promise<OwnerId[]> {
      const rows = await sql.all<{ owner_id: string }>('SELECT owner_id FROM data_key GROUP BY owner_id HAVING count(*) > 1 ORDER BY owner_id')
      return rows.map((row) => row.owner_id)
    },

    /**
     * Re-wraps every data key under a new master key; the data keys themselves do not change, so no
     * row is touched. Call inside the transaction that also records the new key check, then call
     * useMasterKey after it commits. Returns how many keys were re-wrapped.
     */
    async rewrapEveryKey(newMaster: Uint8Array): Promise<number> {
      const next: VersionedKey = { version: MASTER_KEY_VERSION, key: newMaster }
      let count = 0
      // note: a re-wrap changes no (owner, version), so the pages go on from the last one read; a
      // page's updates are issued together (the transaction runs them in order) and awaited once.
      for await (const page of everyKeyPage()) {
        await Promise.all(page.map((row) => {
          const { key, version } = unwrap(row)
          return sql.run('UPDATE data_key SET wrapped = ? WHERE owner_id = ? AND version = ?', sealField(next, key, wrapContext(row.owner_id, version)), row.owner_id, version)
        }))
        count += page.length
      }
      return count
    },

    /** rewrapEveryKey for the synchronous start-up (openStore finishing a rotation), SQLite only. */
    rewrapEveryKeyNow(newMaster: Uint8Array): number {
      const next: VersionedKey = { version: MASTER_KEY_VERSION, key: newMaster }
      const rows = file().query<DataKeyRow, []>('SELECT owner_id, version, wrapped FROM data_key ORDER BY owner_id, version').all()
      const update = file().query('UPDATE data_key SET wrapped = ? WHERE owner_id = ? AND version = ?')
      for (const row of rows) {
        const { key, version } = unwrap(row)
        update.run(sealField(next, key, wrapContext(row.owner_id, version)), row.owner_id, version)
      }
      return rows.length
    },

    /** Lists every data key (as owner/version) that does not unwrap under the master key; empty when all do. */
    async findUnopenableKeys(): Promise<string[]> {
      const failed: string[] = []
      for await (const row of everyKey()) {
        try {
          unwrap(row)
        } catch {
          failed.push(`${row.owner_id}/${Number(row.version)}`)
        }
      }
      return failed
    },

    /** Switches the master key this repository wraps new keys with, after a committed re-wrap. */
    useMasterKey(newMaster: Uint8Array): void {
      master = { version: MASTER_KEY_VERSION, key: newMaster }
    },
  }
  return repo
}

export type DataKeyRepo = ReturnType<typeof createDataKeyRepo>
