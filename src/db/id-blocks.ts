/**
 * Id blocks: integer ids that only grow and are never handed out twice, even after the newest rows
 * are deleted and the server restarts. A block of ids is reserved by writing its upper end to
 * `meta` once per block, instead of touching a sequence row on every insert (AUTOINCREMENT would
 * add a page write to each commit). Allocate only inside the transaction that inserts the row.
 */
import type { Database } from 'bun:sqlite'

const BLOCK_SIZE = 1000

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
