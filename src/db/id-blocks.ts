/**
 * Id blocks: integer ids that only grow and are never handed out twice, even after the newest rows
 * are deleted and the server restarts. A block of ids is reserved by writing its upper end to
 * `meta` once per block, instead of touching a sequence row on every insert (AUTOINCREMENT would
 * add a page write to each commit). Allocate only inside the transaction that inserts the row.
 *
 * Two forms while the chat repository moves to the engine contract: `createIdBlocks` on a
 * bun:sqlite handle (the repository's today) and `createEngineIdBlocks` on `SqlEngine`.
 */
import type { Database } from 'bun:sqlite'
import type { SqlEngine, SqlValue } from './engine.ts'

const BLOCK_SIZE = 1000
const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder()

export function createIdBlocks(db: Database, table: 'message') {
  const metaName = `${table}_id_reserved`
  const selectReserved = db.query<{ value: number }, [string]>('SELECT value FROM meta WHERE name = ?')
  const selectMaxId = db.query<{ id: number | null }, []>(`SELECT max(id) AS id FROM ${table}`)
  const upsertReserved = db.query<void, [string, number]>(
    'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value')
  let next = 0
  let reservedUpTo = -1

  return {
    /** Returns the next id, reserving a new block in this transaction when the current one is used up. */
    allocate(): number {
      if (next > reservedUpTo) {
        const floor = Math.max(selectReserved.get(metaName)?.value ?? 0, selectMaxId.get()?.id ?? 0)
        next = floor + 1
        reservedUpTo = floor + BLOCK_SIZE
        upsertReserved.run(metaName, reservedUpTo)
      }
      return next++
    },
    /** Forgets the block in memory; call when a transaction that may have reserved one rolls back. */
    forgetBlock(): void {
      reservedUpTo = -1
    },
  }
}

export type IdBlocks = ReturnType<typeof createIdBlocks>

/** The ids one attempt of one transaction hands out; see createEngineIdBlocks. */
export type IdAttempt = {
  /** The next id: from the committed block, else from a block this attempt reserves in its transaction. */
  next(): Promise<number>
  /** The next `count` ids, in order (those a caller leaves unused are gaps). */
  take(count: number): Promise<number[]>
  /** Call once the transaction this attempt ran in has committed (the outermost one): what is left of its block serves later attempts. */
  keep(): void
}

/**
 * Id blocks on the engine contract. A block reserved inside a transaction is the attempt's own until
 * that transaction commits: an attempt that fails, or that PostgreSQL runs again after a conflict,
 * is dropped with its block, so no id is handed out whose reservation was rolled back. Ids taken
 * from the committed block are gone from it at once, committed or not: a failed transaction leaves
 * a gap, never an id twice. Reserving reads and writes `meta` in the transaction: SQLite has one
 * writer, and PostgreSQL (SERIALIZABLE) refuses one of two concurrent reservations, which runs
 * again and reads the other's.
 */
export function createEngineIdBlocks(sql: SqlEngine, table: 'message') {
  const metaName = `${table}_id_reserved`
  /** The committed block: ids next..reservedUpTo are reserved and not handed out yet. */
  let next = 0
  let reservedUpTo = -1

  // note: meta.value is ANY on SQLite (an integer here) and BYTEA on PostgreSQL (the number as UTF-8 text).
  const decode = (value: unknown): number => Number(value instanceof Uint8Array ? utf8Decoder.decode(value) : value)
  const encode = (value: number): SqlValue => (sql.dialect === 'sqlite' ? value : utf8Encoder.encode(String(value)))

  const SELECT_RESERVED = 'SELECT value FROM meta WHERE name = ?'
  const SELECT_HIGHEST = `SELECT max(id) AS id FROM ${table}`
  const UPSERT_RESERVED = 'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value'
  /** Reserves the next block in the open transaction; returns its first and last ids. */
  async function reserve(): Promise<{ first: number; last: number }> {
    const reserved = await sql.get<{ value: unknown }>(SELECT_RESERVED, metaName)
    const highest = await sql.get<{ id: number | null }>(SELECT_HIGHEST)
    const floor = Math.max(reserved === null ? 0 : decode(reserved.value), Number(highest?.id ?? 0))
    const last = floor + BLOCK_SIZE
    await sql.run(UPSERT_RESERVED, metaName, encode(last))
    return { first: floor + 1, last }
  }

  return {
    /** Ids for one attempt of a transaction: call inside the transaction's fn, so an attempt run again starts afresh. */
    attempt(): IdAttempt {
      let own: { next: number; last: number } | null = null
      return {
        async next(): Promise<number> {
          if (own === null && next <= reservedUpTo) return next++
          if (own === null || own.next > own.last) {
            const block = await reserve()
            own = { next: block.first, last: block.last }
          }
          return own.next++
        },
        async take(count: number): Promise<number[]> {
          const ids: number[] = []
          for (let i = 0; i < count; i++) ids.push(await this.next())
          return ids
        },
        keep(): void {
          if (own === null || own.next > own.last || own.last <= reservedUpTo) return
          next = own.next
          reservedUpTo = own.last
        },
      }
    },
    /** Forgets the committed block; the next attempt reserves one. */
    forgetBlock(): void {
      reservedUpTo = -1
    },
    /** Prepares the statements reserving a block runs (chats-ready.ts); runs none of them. */
    ready(): void {
      sql.prepare([SELECT_RESERVED, SELECT_HIGHEST, UPSERT_RESERVED])
    },
  }
}

export type EngineIdBlocks = ReturnType<typeof createEngineIdBlocks>
