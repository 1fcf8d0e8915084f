/**
 * Size: the database on disk after a checkpoint, against the plaintext it holds. Beside it, the
 * same over what an empty store of the same schema already takes (every table and index has a
 * page of its own, written or not), which is the figure that holds as the store grows.
 */
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { DATABASE_FILE } from '../src/db/open-store.ts'
import { openBenchStore, type BenchStore } from './bench-store.ts'
import { emptyWal } from './empty-wal.ts'
import { formatNumber, type BenchRow } from './report.ts'

export type SizeFigures = { databaseBytes: number; plaintextBytes: number; emptyStoreBytes: number }

/** The database file and any WAL left over, after writing the WAL back into the file. */
async function storeBytes({ store, dataDir }: BenchStore): Promise<number> {
  // note: asked until it is not busy (emptyWal): a TRUNCATE that met the checkpoint worker's
  // checkpoint left the WAL, which the worker now leaves at its burst size, in the figure.
  await emptyWal(store.db)
  const databasePath = join(dataDir, DATABASE_FILE)
  const walPath = `${databasePath}-wal`
  const walBytes = existsSync(walPath) ? statSync(walPath).size : 0
  return statSync(databasePath).size + walBytes
}

/** Checkpoints the WAL into the database file, then sums the file and any WAL left over; and the same for a new store with its one user. */
export async function measureDatabaseSize(bench: BenchStore, plaintextBytes: number): Promise<SizeFigures> {
  const empty = await openBenchStore()
  try {
    return { databaseBytes: await storeBytes(bench), plaintextBytes, emptyStoreBytes: await storeBytes(empty) }
  } finally {
    empty.remove()
  }
}

/** Returns the database/plaintext ratio against ≤1.2x. */
export function databaseSizeRows({ databaseBytes, plaintextBytes, emptyStoreBytes }: SizeFigures): BenchRow[] {
  const ratio = databaseBytes / plaintextBytes
  const mebibytes = (bytes: number) => `${formatNumber(bytes / 1024 / 1024, 2)} MiB`
  const ratioText = `${formatNumber(ratio, 3)}x` // note: three decimals, so 1.204x doesn't print as a missed 1.20x
  return [{
    name: 'database size / plaintext',
    figures: [`db ${mebibytes(databaseBytes)}`, `plaintext ${mebibytes(plaintextBytes)}`, `ratio ${ratioText}`,
      `over an empty store (${mebibytes(emptyStoreBytes)}) ${formatNumber((databaseBytes - emptyStoreBytes) / plaintextBytes, 3)}x`],
    measured: ratio,
    measuredText: ratioText,
    target: { kind: 'atMost', limit: 1.2, label: '≤1.2x' },
  }]
}
